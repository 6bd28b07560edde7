package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SyntheticLabelerTest {

  private static final Prompt SUM =
      TaskFamily.ARITHMETIC.prompts().stream()
          .filter(p -> p.text().equals("What is 7+5?"))
          .findFirst()
          .orElseThrow();

  @Test
  void withoutNoiseRanksByGoldWithExactTiesAsOneTier() {
    SyntheticLabeler exact = new SyntheticLabeler("a", SyntheticLabeler.Pool.TRAINING, 0, 1);
    // gold: 1.0, 0.2, ~0.6, 0.2, 1.0
    List<String> responses = List.of("12", "13", "The answer is 12, I am quite sure.", "11", "12");
    assertThat(exact.rank(SUM, responses, "item"))
        .containsExactly(List.of(0, 4), List.of(2), List.of(1, 3));
  }

  @Test
  void noisyRankingsAreReproduciblePerItemCoverEveryIndexAndKeepGoldTies() {
    SyntheticLabeler noisy = new SyntheticLabeler("a", SyntheticLabeler.Pool.TRAINING, 0.5, 1);
    List<String> responses = List.of("12", "13", "It is 12.", "12", "twelve");
    Set<List<List<Integer>>> seen = new HashSet<>();
    for (int item = 0; item < 200; item++) {
      List<List<Integer>> tiers = noisy.rank(SUM, responses, "item-" + item);
      assertThat(noisy.rank(SUM, responses, "item-" + item)).isEqualTo(tiers);
      List<Integer> all = new ArrayList<>();
      tiers.forEach(all::addAll);
      assertThat(all).containsExactlyInAnyOrder(0, 1, 2, 3, 4);
      assertThat(tiers).anyMatch(t -> t.containsAll(List.of(0, 3))); // identical texts always tie
      assertThat(tiers).hasSize(4);
      seen.add(tiers);
    }
    assertThat(seen.size()).as("the noise reorders distinct gold values").isGreaterThan(5);
  }

  @Test
  void flipProbabilityFollowsTheNoiseModel() {
    double sigma = 0.3;
    double gap = 0.2;
    SyntheticLabeler labeler = new SyntheticLabeler("a", SyntheticLabeler.Pool.TRAINING, sigma, 4);
    int flips = 0;
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      List<List<Integer>> tiers = labeler.rankScores(new double[] {0.5 + gap, 0.5}, "pair-" + i);
      flips += tiers.get(0).get(0) == 1 ? 1 : 0;
    }
    double expected = NoiseCalibration.phi(-gap / (sigma * Math.sqrt(2)));
    assertThat(flips / (double) n).isCloseTo(expected, within(0.015));
  }

  @Test
  void judgeCountsTiesHalf() {
    SyntheticLabeler exact = new SyntheticLabeler("a", SyntheticLabeler.Pool.HELD_OUT, 0, 1);
    assertThat(exact.judge(SUM, "12", "13", "k")).isEqualTo(1.0);
    assertThat(exact.judge(SUM, "13", "12", "k")).isEqualTo(0.0);
    assertThat(exact.judge(SUM, "13", "14", "k")).isEqualTo(0.5);
  }

  @Test
  void poolsHaveDistinctLabelersAndSpreadItems() {
    LabelerPool training = new LabelerPool(SyntheticLabeler.Pool.TRAINING, 5, 0.3, 42);
    LabelerPool heldOut = new LabelerPool(SyntheticLabeler.Pool.HELD_OUT, 5, 0.3, 42);
    Set<Long> seeds = new HashSet<>();
    training.labelers().forEach(l -> seeds.add(l.seed()));
    heldOut.labelers().forEach(l -> seeds.add(l.seed()));
    assertThat(seeds).hasSize(10);
    assertThat(training.labelers()).allMatch(l -> l.annotatorId().startsWith("sim-training-"));
    assertThat(heldOut.labelers())
        .allMatch(
            l ->
                l.annotatorId().startsWith("sim-heldout-")
                    && l.pool() == SyntheticLabeler.Pool.HELD_OUT);
    Set<String> used = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      SyntheticLabeler l = training.forItem("t-" + i);
      assertThat(training.forItem("t-" + i)).isSameAs(l);
      used.add(l.annotatorId());
    }
    assertThat(used).hasSize(5);
    assertThat(new LabelerPool(SyntheticLabeler.Pool.TRAINING, 5, 0.3, 42).labelers().get(2).seed())
        .isEqualTo(training.labelers().get(2).seed());
  }
}
