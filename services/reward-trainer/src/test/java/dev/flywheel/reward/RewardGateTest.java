package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The reward-model gate on bootstrap bounds (no model involved: per-group counts in, decision out).
 */
class RewardGateTest {

  private static final RewardGate GATE = new RewardGate(0.95, 0.02, 0.5);
  private static final RewardGate POINT = new RewardGate(0, 0.02, 0.5);

  /** 6 pairs a group (K = 4); each pair right with probability p, from a seeded stream. */
  private static RewardEvaluator.Result result(int[] right) {
    int[] pairs = new int[right.length];
    java.util.Arrays.fill(pairs, 6);
    long r = java.util.Arrays.stream(right).sum();
    double accuracy = (double) r / (6L * right.length);
    return new RewardEvaluator.Result(
        accuracy, 0, 6 * right.length, right.length, List.of(), 0, 0, 0, right, pairs, 1);
  }

  private static int[] draw(int groups, double p, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int[] right = new int[groups];
    for (int g = 0; g < groups; g++) {
      for (int i = 0; i < 6; i++) {
        right[g] += random.nextDouble() < p ? 1 : 0;
      }
    }
    return right;
  }

  @Test
  void aFirstVersionMustBeShownBetterThanChance() {
    // 80 of 150 pairs (0.533) on 25 groups: above 0.5 on its point estimate, well inside chance's
    // interval
    int[] counts = {4, 4, 3, 2, 3, 4, 3, 2, 3, 4, 4, 2, 3, 4, 3, 4, 3, 4, 3, 2, 4, 4, 3, 2, 3};
    RewardEvaluator.Result weak = result(counts);
    assertTrue(weak.accuracy() > 0.5, "above chance: " + weak.accuracy());
    RewardGate.Decision d = GATE.decide(weak, null);
    assertFalse(d.accepted(), "lower bound " + d.statistic());
    assertTrue(d.statistic() < 0.5);
    assertTrue(POINT.decide(weak, null).accepted(), "the point rule would have taken it");
    assertFalse(d.quarantine(), "not shown good enough is not shown harmful");

    RewardEvaluator.Result good = result(draw(100, 0.62, 2));
    RewardGate.Decision ok = GATE.decide(good, null);
    assertTrue(ok.accepted(), "lower bound " + ok.statistic());
    assertTrue(ok.statistic() < good.accuracy() && ok.statistic() > 0.55, "" + ok.statistic());
    assertEquals(0.5, ok.threshold());
    assertTrue(Double.isNaN(ok.difference()));
  }

  @Test
  void againstTheParentTheGateIsOnThePairedDifference() {
    int[] parent = draw(100, 0.65, 3);
    // as good as the parent: the same groups right, with a few pairs swapped either way
    int[] same = parent.clone();
    for (int g = 0; g < 100; g += 10) {
      same[g] = Math.max(0, Math.min(6, same[g] + (g % 20 == 0 ? 1 : -1)));
    }
    RewardGate.Decision tie = GATE.decide(result(same), result(parent));
    assertTrue(tie.accepted(), "as good as the parent: " + tie);
    assertTrue(tie.differenceLow() <= 0 && tie.differenceHigh() >= 0, tie.toString());

    // worse by one pair in every other group (−0.083 on those, −0.042 overall): point estimate only
    // a few points below the parent, but consistently so, which pairing detects
    int[] worse = parent.clone();
    for (int g = 0; g < 100; g += 2) {
      worse[g] = Math.max(0, worse[g] - 1);
    }
    RewardGate.Decision down = GATE.decide(result(worse), result(parent));
    assertFalse(down.accepted(), "consistently worse: " + down);
    assertTrue(down.differenceHigh() < 0, down.toString());
    assertEquals(-0.02, down.threshold());
    assertTrue(down.quarantine(), "shown worse than the parent: its input is suspect");
    assertEquals(1.0, down.metrics().get("gate_input_quarantined"));

    // clearly better: accepted, interval above zero
    int[] better = parent.clone();
    for (int g = 0; g < 100; g++) {
      better[g] = Math.min(6, better[g] + 1);
    }
    RewardGate.Decision up = GATE.decide(result(better), result(parent));
    assertTrue(up.accepted());
    assertTrue(up.differenceLow() > 0, up.toString());
    assertEquals(1.0, up.metrics().get("gate_passed"));
  }

  @Test
  void aVersionThatDisagreesWithItsParentOnFewGroupsIsNotTakenOnTrust() {
    // the candidate's ranking disagrees with the parent's on many groups: a 0.01 lower point
    // estimate, but a wide paired interval reaching well past the tolerance
    int[] parent = draw(40, 0.62, 4);
    int[] noisy = draw(40, 0.61, 5);
    RewardEvaluator.Result c = result(noisy);
    RewardEvaluator.Result p = result(parent);
    RewardGate.Decision d = GATE.decide(c, p);
    assertTrue(d.differenceLow() < -0.02, d.toString());
    assertFalse(d.accepted());
    assertTrue(d.differenceHigh() > 0, d.toString());
    assertFalse(d.quarantine(), "not shown worse: its input stays replayable");
  }

  @Test
  void versionsFromBeforeTheQuarantineMetricStayQuarantined() {
    assertTrue(RewardGate.quarantined(java.util.Map.of("eval_accuracy", 0.4)));
    assertTrue(RewardGate.quarantined(java.util.Map.of("gate_input_quarantined", 1.0)));
    assertFalse(RewardGate.quarantined(java.util.Map.of("gate_input_quarantined", 0.0)));
  }

  @Test
  void refusesResultsOnDifferentGroups() {
    assertThrows(
        IllegalArgumentException.class,
        () -> GATE.decide(result(draw(10, 0.6, 1)), result(draw(11, 0.6, 1))));
  }

  @Test
  void pairedIntervalIsReproducibleAndNarrowerThanEitherAccuracy() {
    int[] a = draw(100, 0.7, 7);
    int[] b = a.clone();
    b[0] = Math.max(0, b[0] - 1);
    int[] pairs = new int[100];
    java.util.Arrays.fill(pairs, 6);
    double[] paired = RewardGate.pairedInterval(a, b, pairs, 0.95, 2000, 1);
    double[] single = RewardGate.pairedInterval(a, new int[100], pairs, 0.95, 2000, 1);
    assertTrue(paired[1] - paired[0] < (single[1] - single[0]) / 5, "paired is narrow");
    assertEquals(
        paired[0],
        RewardGate.pairedInterval(a, b, pairs, 0.95, 2000, 1)[0],
        "seeded: reproducible");
    assertTrue(single[0] < 0.7 && single[1] > 0.66, single[0] + ".." + single[1]);
  }
}
