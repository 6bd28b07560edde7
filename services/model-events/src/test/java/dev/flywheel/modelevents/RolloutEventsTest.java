package dev.flywheel.modelevents;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.RolloutFinishReason;
import dev.flywheel.events.RolloutPrompt;
import dev.flywheel.events.RolloutSample;
import dev.flywheel.model.Generation;
import dev.flywheel.model.GroupRollout;
import java.util.List;
import org.junit.jupiter.api.Test;

class RolloutEventsTest {

  @Test
  void promptsRoundTripAndSamplesKeepRowsPromptsLogProbsAndScores() {
    List<int[]> prompts = List.of(new int[] {1, 2, 3}, new int[] {4});
    List<RolloutPrompt> events = RolloutEvents.toPrompts(prompts);
    assertEquals(List.of(1, 2, 3), events.get(0).getTokens());
    List<int[]> back = RolloutEvents.fromPrompts(events);
    assertArrayEquals(prompts.get(0), back.get(0));
    assertArrayEquals(prompts.get(1), back.get(1));

    GroupRollout rollout =
        new GroupRollout(
            List.of(prompts.get(0), prompts.get(0), prompts.get(1), prompts.get(1)),
            List.of(
                new Generation(
                    new int[] {7, 8}, new float[] {-0.5f, -1f}, Generation.FinishReason.STOP),
                new Generation(new int[] {9}, new float[] {-2f}, Generation.FinishReason.LENGTH),
                new Generation(new int[] {}, new float[] {}, Generation.FinishReason.LENGTH),
                new Generation(new int[] {5}, new float[] {-0.1f}, Generation.FinishReason.STOP)),
            new float[] {1f, 2f, 3f, 4f},
            0,
            0);
    List<RolloutSample> samples = RolloutEvents.toSamples(rollout, 2);
    assertEquals(List.of(0, 0, 1, 1), samples.stream().map(RolloutSample::getPromptIndex).toList());
    assertEquals(List.of(7, 8), samples.get(0).getTokens());
    assertArrayEquals(new float[] {-0.5f, -1f}, RolloutEvents.logProbs(samples.get(0)));
    assertEquals(RolloutFinishReason.STOP, samples.get(0).getFinishReason());
    assertEquals(RolloutFinishReason.LENGTH, samples.get(1).getFinishReason());
    assertEquals(3f, samples.get(2).getScore());
    assertEquals(0, samples.get(2).getTokens().size());
  }
}
