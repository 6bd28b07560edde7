package dev.flywheel.policy.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The reward change's interval: per-prompt means of paired differences, bootstrapped over prompts.
 */
class PolicyEvaluatorTest {

  @Test
  void promptChangesAverageEachPromptsPairedSamples() {
    float[] mine = {1, 2, 3, 4, 0, 0};
    float[] theirs = {0, 0, 1, 1, 1, 2};
    assertArrayEquals(
        new double[] {1.5, 2.5, -1.5}, PolicyEvaluator.promptChanges(mine, theirs, 2), 1e-12);
  }

  @Test
  void theIntervalCoversTheMeanAndWidensWithTheSpreadAcrossPrompts() {
    Random random = new Random(7);
    double[] noisy = new double[32];
    double[] steady = new double[32];
    double mean = 0;
    for (int i = 0; i < noisy.length; i++) {
      noisy[i] = -0.02 + 0.3 * random.nextGaussian();
      steady[i] = -0.02 + 0.03 * random.nextGaussian();
      mean += noisy[i] / noisy.length;
    }
    double[] wide = PolicyEvaluator.changeInterval(noisy, 0.95, 2000, 1);
    double[] narrow = PolicyEvaluator.changeInterval(steady, 0.95, 2000, 1);
    assertTrue(wide[0] < mean && mean < wide[1], "covers its mean " + mean);
    // ±1.96 · 0.3 / √32 ≈ ±0.10
    double width = wide[1] - wide[0];
    assertTrue(width > 0.14 && width < 0.28, "width " + width);
    assertTrue(narrow[1] - narrow[0] < width / 5, "ten times less spread, a narrower interval");
    assertTrue(narrow[1] < 0, "a steady fall is shown: " + narrow[1]);
    assertTrue(
        PolicyEvaluator.changeInterval(noisy, 0.5, 2000, 1)[1] < wide[1],
        "a lower confidence, a shorter interval");
    assertTrue(Double.isNaN(PolicyEvaluator.changeInterval(new double[] {1}, 0.95, 2000, 1)[0]));
    assertEquals(
        wide[0], PolicyEvaluator.changeInterval(noisy, 0.95, 2000, 1)[0], "seeded: reproducible");
  }
}
