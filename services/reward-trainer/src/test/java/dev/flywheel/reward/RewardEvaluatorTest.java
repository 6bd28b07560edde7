package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DataSplit;
import dev.flywheel.model.PairwiseRewardLoss;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RewardEvaluatorTest {

  @Test
  void accuracyAndCalibrationBucketsByMargin() {
    // margins: small ones are coin flips, large ones are right
    List<Double> d = List.of(-0.1, 0.1, -0.2, 0.2, 3.0, 4.0, -5.0, 6.0);
    RewardEvaluator.Result r =
        new RewardEvaluator(8, 2)
            .summarise(d, 0.5, 3, new int[] {2, 3}, new int[] {4, 4}, new double[] {0.4, 0.8}, 0.7);
    assertEquals(5.0 / 8, r.accuracy(), 1e-12);
    assertEquals(8, r.pairs());
    assertEquals(3, r.groups(), "groups, not the prompts the interval resampled");
    assertEquals(2, r.calibration().size());
    RewardEvaluator.Bucket small = r.calibration().get(0);
    RewardEvaluator.Bucket large = r.calibration().get(1);
    assertEquals(0.5, small.accuracy(), 1e-12);
    assertEquals(0.75, large.accuracy(), 1e-12);
    assertEquals(0.15, small.meanMargin(), 1e-12);
    assertEquals(4.5, large.meanMargin(), 1e-12);
    double confSmall = (2 * RewardEvaluator.sigmoid(0.1) + 2 * RewardEvaluator.sigmoid(0.2)) / 4;
    double confLarge =
        (RewardEvaluator.sigmoid(3)
                + RewardEvaluator.sigmoid(4)
                + RewardEvaluator.sigmoid(5)
                + RewardEvaluator.sigmoid(6))
            / 4;
    assertEquals(confSmall, small.confidence(), 1e-12);
    assertEquals(
        0.5 * Math.abs(0.5 - confSmall) + 0.5 * Math.abs(0.75 - confLarge), r.ece(), 1e-12);
    Map<String, Double> m = r.metrics("eval_");
    assertEquals(5.0 / 8, m.get("eval_accuracy"));
    assertEquals(0.5, m.get("eval_loss"));
    assertEquals(0.75, m.get("calibration_bucket_1_accuracy"));
    assertEquals(4.0, m.get("calibration_bucket_0_pairs"));
    assertEquals(0.4, m.get("eval_accuracy_low95"));
    assertEquals(0.8, m.get("eval_accuracy_high95"));
  }

  @Test
  void theBootstrapIntervalResamplesGroupsAndNarrowsWithMoreOfThem() {
    // 20 groups of 6 pairs, 4 right each (accuracy 2/3), then the same 10 times over
    int[] right = new int[20];
    int[] pairs = new int[20];
    for (int i = 0; i < 20; i++) {
      right[i] = i % 2 == 0 ? 6 : 2; // groups disagree with each other: clustered pairs
      pairs[i] = 6;
    }
    double[] small = RewardEvaluator.bootstrapInterval(right, pairs, 2000, 1);
    assertTrue(
        small[0] < 2.0 / 3 && 2.0 / 3 < small[1],
        "covers the estimate: " + small[0] + ".." + small[1]);
    // pairs resampled independently would give about ±0.084; the clusters make it wider
    assertTrue(small[1] - small[0] > 0.25, "clustered width " + (small[1] - small[0]));
    int[] right200 = new int[200];
    int[] pairs200 = new int[200];
    for (int i = 0; i < 200; i++) {
      right200[i] = right[i % 20];
      pairs200[i] = 6;
    }
    double[] large = RewardEvaluator.bootstrapInterval(right200, pairs200, 2000, 1);
    assertTrue(
        large[1] - large[0] < (small[1] - small[0]) / 2.5, "10x the groups: ~1/sqrt(10) the width");
    assertArrayEquals(
        small, RewardEvaluator.bootstrapInterval(right, pairs, 2000, 1), "seeded: reproducible");
    assertTrue(Double.isNaN(RewardEvaluator.bootstrapInterval(new int[0], new int[0], 10, 1)[0]));
  }

  @Test
  void theClustersArePromptsNumberedInOrderOfFirstAppearance() {
    List<EncodedGroup> groups =
        List.of(group("p"), group("q"), group("p"), group(null), group("r"), group(null));
    assertArrayEquals(new int[] {0, 1, 0, 2, 3, 4}, RewardEvaluator.promptClusters(groups));
  }

  @Test
  void promptsWhoseGroupsAgreeWidenTheIntervalOverResamplingGroups() {
    // 20 prompts of 3 groups each (6 pairs a group); a prompt's groups are all right or all 2/6
    int[] groupRight = new int[60];
    int[] groupPairs = new int[60];
    int[] promptRight = new int[20];
    int[] promptPairs = new int[20];
    for (int g = 0; g < 60; g++) {
      groupRight[g] = (g / 3) % 2 == 0 ? 6 : 2;
      groupPairs[g] = 6;
      promptRight[g / 3] += groupRight[g];
      promptPairs[g / 3] += 6;
    }
    double[] byGroup = RewardEvaluator.bootstrapInterval(groupRight, groupPairs, 2000, 1);
    double[] byPrompt = RewardEvaluator.bootstrapInterval(promptRight, promptPairs, 2000, 1);
    // 20 independent clusters, not 60: about sqrt(3) times as wide
    assertTrue(
        byPrompt[1] - byPrompt[0] > 1.5 * (byGroup[1] - byGroup[0]),
        "prompts " + (byPrompt[1] - byPrompt[0]) + ", groups " + (byGroup[1] - byGroup[0]));
  }

  private static EncodedGroup group(String promptKey) {
    return new EncodedGroup(
        0,
        0,
        0,
        "g",
        promptKey,
        DataSplit.EVAL,
        List.of(new int[] {1}, new int[] {2}),
        List.of(new PairwiseRewardLoss.Comparison(0, 1)),
        List.of(0),
        -1);
  }

  @Test
  void softplusIsStable() {
    assertEquals(Math.log(2), RewardEvaluator.softplus(0), 1e-12);
    assertEquals(1000, RewardEvaluator.softplus(1000), 1e-9);
    assertEquals(Math.exp(-50), RewardEvaluator.softplus(-50), 1e-25);
  }
}
