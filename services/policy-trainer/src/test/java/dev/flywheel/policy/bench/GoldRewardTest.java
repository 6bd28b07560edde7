package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** LoopExperiment's "gold" RL setting: the simulator's gold score in place of the reward model. */
class GoldRewardTest {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  private static int[] prompt(Prompt p) {
    return CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text())));
  }

  private static int[] response(String text) {
    int[] t = ByteTokenizer.INSTANCE.encode(text);
    int[] withEos = Arrays.copyOf(t, t.length + 1);
    withEos[t.length] = ByteTokenizer.EOS;
    return withEos;
  }

  @Test
  void theIdealAnswerScoresZeroAWorseOneBelowItAndAHeldOutPromptIsRefused() {
    PromptSplit split = PromptSplit.standard(0.3);
    RewardFunction gold = RlStage.goldReward(split, 1.0);
    Prompt p = split.train().get(0);
    float[] scores =
        gold.score(List.of(prompt(p), prompt(p)), List.of(response(p.ideal()), response("no")));
    assertEquals(0f, scores[0], 1e-6f, "2 × (gold − 1) of the ideal answer");
    assertEquals((float) (2 * (p.gold("no") - 1)), scores[1], 1e-6f);
    assertTrue(scores[1] < scores[0]);
    assertEquals(
        scores[1] / 2,
        RlStage.goldReward(split, 2.0).score(List.of(prompt(p)), List.of(response("no")))[0],
        1e-6f,
        "divided by the setting's scale");
    IllegalStateException heldOut =
        assertThrows(
            IllegalStateException.class,
            () -> gold.score(List.of(prompt(split.heldOut().get(0))), List.of(response("no"))));
    assertTrue(heldOut.getMessage().contains("not a training prompt"), heldOut.getMessage());
  }
}
