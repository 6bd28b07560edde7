package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.model.PairwiseRewardLoss.Comparison;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.policy.bench.RewardModelTraining.SequenceScorer;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reward model's accuracy by gold gap: which bucket a pair lands in, and what is counted. */
class GoldGapAccuracyTest {

  // four candidates; sequence i is {i}, so a scorer can look its candidate up
  private static final double[] GOLD = {1.0, 0.95, 0.3, 0.0};

  private static Group group(List<Comparison> labels) {
    return group(PromptSplit.standard().heldOut().get(0), labels);
  }

  private static Group group(Prompt prompt, List<Comparison> labels) {
    return new Group(
        prompt,
        List.of("a", "b", "c", "d"),
        List.of(new int[] {0}, new int[] {1}, new int[] {2}, new int[] {3}),
        labels,
        GOLD);
  }

  private static SequenceScorer scoring(double[] values) {
    return sequences -> {
      float[] out = new float[sequences.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = (float) values[sequences.get(i)[0]];
      }
      return out;
    };
  }

  @Test
  void pairsLandInTheBucketOfTheirGoldGapAndTheTopRowWhenBothAreGood() {
    // gaps: 0-1 0.05, 0-2 0.70, 0-3 1.00, 1-2 0.65, 1-3 0.95, 2-3 0.30
    GoldGapAccuracy a = GoldGapAccuracy.of(scoring(GOLD), List.of(group(List.of())));
    List<GoldGapAccuracy.Bucket> b = a.buckets();
    assertEquals(5, b.size());
    assertEquals(1, b.get(0).goldPairs(), "0.05");
    assertEquals(0, b.get(1).goldPairs());
    assertEquals(1, b.get(2).goldPairs(), "0.30");
    assertEquals(4, b.get(3).goldPairs(), "0.65, 0.70, 0.95, 1.00");
    assertEquals(1, b.get(4).goldPairs(), "1.0 and 0.95 are both good");
    for (GoldGapAccuracy.Bucket x : b) {
      if (x.goldPairs() > 0) {
        assertEquals(1.0, x.rmVsGold(), 1e-12, "a scorer that is gold is right everywhere");
      }
    }
  }

  @Test
  void labelsAreScoredAgainstTheModelAndAgainstGoldInTheirOwnBucket() {
    // a labeler who got the close pair (0 vs 1) backwards and the far pair (0 vs 3) right
    List<Comparison> labels = List.of(new Comparison(1, 0), new Comparison(0, 3));
    // a reward model that inverts gold
    double[] inverted = {0.0, 0.3, 0.95, 1.0};
    GoldGapAccuracy a = GoldGapAccuracy.of(scoring(inverted), List.of(group(labels)));
    GoldGapAccuracy.Bucket close = a.buckets().get(0);
    assertEquals(1, close.labelledPairs());
    assertEquals(0.0, close.labelsVsGold(), 1e-12, "the label contradicts gold");
    assertEquals(1.0, close.rmVsLabels(), 1e-12, "the inverted model agrees with the wrong label");
    assertEquals(0.0, close.rmVsGold(), 1e-12);
    GoldGapAccuracy.Bucket far = a.buckets().get(3);
    assertEquals(1, far.labelledPairs());
    assertEquals(1.0, far.labelsVsGold(), 1e-12);
    assertEquals(0.0, far.rmVsLabels(), 1e-12);
    assertEquals(1, a.buckets().get(4).labelledPairs(), "the close pair is also a top pair");
  }

  @Test
  void theFamilyTableHasARowForEachFamilyAndKindPresent() {
    Prompt first = PromptSplit.standard().heldOut().get(0);
    Prompt otherKind =
        PromptSplit.standard().heldOut().stream()
            .filter(p -> p.family() == first.family() && !p.kind().equals(first.kind()))
            .findFirst()
            .orElseThrow();
    // the other kind's candidates are sequences 4-7, scored by gold inverted: two rows, apart
    Group other =
        new Group(
            otherKind,
            List.of("a", "b", "c", "d"),
            List.of(new int[] {4}, new int[] {5}, new int[] {6}, new int[] {7}),
            List.of(),
            GOLD);
    double[] goldThenInverted = {1.0, 0.95, 0.3, 0.0, 0.0, 0.3, 0.95, 1.0};
    String table =
        GoldGapAccuracy.byFamily(
            scoring(goldThenInverted),
            List.of(group(first, List.of()), other),
            p -> p.equals(first));
    String family = first.family().name().toLowerCase(java.util.Locale.ROOT);
    assertTrue(table.contains("| " + family + "/" + first.kind() + " | 1.00 (1) |"), table);
    assertTrue(table.contains("| " + family + "/" + otherKind.kind() + " | 0.00 (1) |"), table);
    assertTrue(
        table.contains("| twin | 1.00 (1) |"), "the first prompt counts as a twin: " + table);
    assertTrue(table.contains("| no-twin | 0.00 (1) |"), table);
    assertEquals(
        6, table.strip().split("\n").length, "header, rule, two kinds, twin rows: " + table);
    // a reward model's own training groups are all twins: no empty no-twin row
    String allTwins =
        GoldGapAccuracy.byFamily(
            scoring(goldThenInverted), List.of(group(first, List.of()), other), p -> true);
    assertTrue(allTwins.contains("| twin |"), allTwins);
    assertFalse(allTwins.contains("no-twin"), allTwins);
  }
}
