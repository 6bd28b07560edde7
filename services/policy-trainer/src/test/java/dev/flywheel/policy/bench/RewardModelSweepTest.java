package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.model.PairwiseRewardLoss.Comparison;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import dev.flywheel.simulator.TaskFamily;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The sweep's noise-free labels (the gold order in place of the labelers' rankings) and its subsets
 * of training prompts.
 */
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

  @Test
  void promptSubsetsKeepEveryFamilysShareNestAndKeepTheGroupsOrder() {
    List<Prompt> prompts = PromptSplit.standard(0.3).train();
    // two groups per prompt, the second pass in reverse, so a prompt's groups are not adjacent
    List<Group> groups = new ArrayList<>();
    for (int pass = 0; pass < 2; pass++) {
      for (int i = 0; i < prompts.size(); i++) {
        Prompt p = prompts.get(pass == 0 ? i : prompts.size() - 1 - i);
        groups.add(
            new Group(
                p,
                List.of("a", "b"),
                List.of(new int[] {pass}, new int[] {i}),
                List.of(new Comparison(0, 1)),
                new double[] {1, 0}));
      }
    }
    List<Group> forty = RewardModelSweep.onPrompts(groups, 40, 7);
    List<Group> eighty = RewardModelSweep.onPrompts(groups, 80, 7);
    Set<Prompt> fortyPrompts = forty.stream().map(Group::prompt).collect(Collectors.toSet());
    Set<Prompt> eightyPrompts = eighty.stream().map(Group::prompt).collect(Collectors.toSet());
    assertEquals(40, fortyPrompts.size());
    assertEquals(80, forty.size()); // both groups of each prompt
    assertEquals(80, eightyPrompts.size());
    assertTrue(eightyPrompts.containsAll(fortyPrompts), "a smaller subset nests in a larger one");
    for (TaskFamily family : TaskFamily.values()) {
      double share =
          prompts.stream().filter(p -> p.family() == family).count() / (double) prompts.size();
      long kept = fortyPrompts.stream().filter(p -> p.family() == family).count();
      assertTrue(Math.abs(kept - 40 * share) <= 1, family + ": " + kept + " of 40, share " + share);
    }
    // the groups come in their original order
    List<Group> expected = groups.stream().filter(g -> fortyPrompts.contains(g.prompt())).toList();
    assertEquals(expected, forty);
    // another seed draws other prompts
    assertNotEquals(
        fortyPrompts,
        RewardModelSweep.onPrompts(groups, 40, 8).stream()
            .map(Group::prompt)
            .collect(Collectors.toSet()));
  }
}
