package dev.flywheel.policy.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.model.ChatTurn;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The prompt split agrees with the pair assembler's, and the pool keeps held-out prompts out of
 * training.
 */
class SplitsTest {

  @Test
  void promptKeysAreThePairAssemblersKeys() {
    // golden values of dev.flywheel.schemas.PromptKeys (the rule the pair assembler applies) for
    // the same turns
    assertEquals(
        "fdfc9ae115a98d582ae6cfba79f9e9f6",
        Splits.promptKey(
            List.of(ChatTurn.system("Be  brief."), ChatTurn.user("What is 3 + 4?  "))));
    assertEquals(
        "d9e410ecc6f131c654b5cb0511916d3f",
        Splits.promptKey(List.of(ChatTurn.user("Hello ÅNGSTRÖM\tworld"))));
    // and the same split at the pair assembler's eval fraction 0.1: of p0..p19 only p10 is EVAL
    for (int i = 0; i < 20; i++) {
      String key = Splits.promptKey(List.of(ChatTurn.user("p" + i)));
      assertEquals(i == 10, Splits.isHeldOutPrompt(key, 0.1), "p" + i);
    }
  }

  @Test
  void promptPoolTrainsOnTrainPromptsAndEvaluatesOnHeldOutOnes() {
    PromptPool pool = new PromptPool(0.1, 5);
    for (int i = 0; i < 20; i++) {
      pool.addConfigured(List.of(ChatTurn.user("p" + i)));
    }
    for (int i = 0; i < 8; i++) {
      pool.addTranscript(List.of(ChatTurn.user("p" + (i + 6))), 0, 100 + i); // window: p9..p13
    }
    // the transcript window keeps the 5 most recent of partition 0: offsets 103..107
    assertEquals(5, pool.transcriptPrompts().size());
    assertEquals(103, pool.transcriptRanges().get(0)[0]);
    assertEquals(108, pool.transcriptRanges().get(0)[1]);

    int[] heldOutTokens = TinyTasks.CHAT.encodeForGeneration(List.of(ChatTurn.user("p10")));
    List<int[]> heldOut = pool.heldOut(10);
    assertEquals(1, heldOut.size(), "p10 once, though it is also a transcript prompt");
    assertTrue(java.util.Arrays.equals(heldOutTokens, heldOut.get(0)));
    List<int[]> sample = pool.sampleTrain(500, 0.5, new Random(1));
    assertFalse(
        sample.stream().anyMatch(t -> java.util.Arrays.equals(t, heldOutTokens)),
        "held-out prompts never train");
    assertEquals(19 + 4, pool.trainCount());
  }

  @Test
  void demonstrationSplitDependsOnTheIdOnly() {
    List<Boolean> first = new ArrayList<>();
    int heldOut = 0;
    for (int i = 0; i < 1000; i++) {
      boolean h = Splits.isHeldOutDemonstration("demo-" + i, 0.1);
      first.add(h);
      heldOut += h ? 1 : 0;
    }
    for (int i = 0; i < 1000; i++) {
      assertEquals(first.get(i), Splits.isHeldOutDemonstration("demo-" + i, 0.1));
    }
    assertTrue(heldOut > 70 && heldOut < 130, "about 10%: " + heldOut);
  }
}
