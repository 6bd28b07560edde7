package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.model.PairwiseRewardLoss.Comparison;
import dev.flywheel.policy.bench.LoopExperiment.Group;
import dev.flywheel.simulator.PromptSplit;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The sweep's noise-free labels: the gold order in place of the labelers' rankings. */
class RewardModelSweepTest {

  @Test
  void goldLabelsRankEveryPairOfDistinctGoldHigherFirstAndSkipTies() {
    Group labelled =
        new Group(
            PromptSplit.standard().heldOut().get(0),
            List.of("a", "b", "c", "d"),
            List.of(new int[] {0}, new int[] {1}, new int[] {2}, new int[] {3}),
            // the labelers got one pair backwards and left one out
            List.of(new Comparison(3, 0), new Comparison(1, 2)),
            new double[] {1.0, 0.3, 0.3, 0.0});
    Group gold = RewardModelSweep.rankedByGold(labelled);
    assertEquals(
        Set.of(
            new Comparison(0, 1),
            new Comparison(0, 2),
            new Comparison(0, 3),
            new Comparison(1, 3),
            new Comparison(2, 3)),
        Set.copyOf(gold.pairs()));
    assertEquals(5, gold.pairs().size()); // 1 and 2 tie on gold: no pair
    assertEquals(labelled.sequences(), gold.sequences());
    assertEquals(labelled.prompt(), gold.prompt());
  }
}
