package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DataSplit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RoundPlanTest {

  /**
   * {@code n} groups over {@code prompts} prompt keys (several groups per prompt, as in the loop).
   */
  private static List<EncodedGroup> groups(int n, int prompts) {
    List<EncodedGroup> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(
          new EncodedGroup(
              i % 6,
              i / 6,
              1000L + i,
              "g" + i,
              "prompt-" + (i % prompts),
              DataSplit.TRAIN,
              List.of(),
              List.of(),
              List.of(),
              -1));
    }
    return out;
  }

  private static RewardTrainerConfig config(int minSteps) {
    RewardTrainerConfig c = new RewardTrainerConfig();
    c.setBatchSizeGroups(32);
    c.setMinStepsPerRound(minSteps);
    return c;
  }

  @Test
  void aRepeatingRoundHoldsBackWholePromptsForValidation() {
    List<EncodedGroup> data = groups(400, 100);
    RoundPlan plan = RoundPlan.of(data, 1, config(200), new Random(1));
    assertTrue(plan.earlyStopping());
    assertEquals(
        400,
        plan.train().size() + plan.validation().size(),
        "every group is trained on or validates");
    Set<String> trainedPrompts = new HashSet<>();
    plan.train().forEach(g -> trainedPrompts.add(g.promptKey()));
    plan.validation()
        .forEach(
            g ->
                assertFalse(
                    trainedPrompts.contains(g.promptKey()),
                    "validation prompt " + g.promptKey() + " is never trained on in this round"));
    double share = plan.validation().size() / 400.0;
    assertTrue(share > 0.03 && share < 0.2, "about the configured 10%: " + share);
    assertEquals(
        config(200).epochsFor(plan.train().size()), plan.epochs(), "epochs of the trained part");
    assertEquals(plan.epochs() * plan.train().size(), plan.order().size());
    assertEquals(plan.stepsPerEpoch() * plan.epochs(), plan.totalSteps());
  }

  @Test
  void theSameInputGivesTheSamePlanSoAResumedRoundRecognisesIt() {
    List<EncodedGroup> data = groups(300, 80);
    RoundPlan a = RoundPlan.of(data, 4, config(200), new Random(9));
    RoundPlan b = RoundPlan.of(data, 4, config(200), new Random(9));
    assertEquals(a.hash(), b.hash());
    assertEquals(a.order(), b.order());
    assertNotEquals(
        a.hash(), RoundPlan.of(data.subList(0, 299), 4, config(200), new Random(9)).hash());
  }

  @Test
  void theValidationPromptsRotateWithTheRound() {
    List<EncodedGroup> data = groups(400, 100);
    Set<String> one = new HashSet<>();
    RoundPlan.of(data, 1, config(200), new Random(1))
        .validation()
        .forEach(g -> one.add(g.promptKey()));
    Set<String> two = new HashSet<>();
    RoundPlan.of(data, 2, config(200), new Random(1))
        .validation()
        .forEach(g -> two.add(g.promptKey()));
    assertNotEquals(
        one, two, "another round validates on other prompts, so all prompts get trained on");
  }

  @Test
  void aSingleEpochRoundOrATooSmallValidationSetTrainsOnEverything() {
    RoundPlan single = RoundPlan.of(groups(400, 100), 1, config(0), new Random(1));
    assertFalse(single.earlyStopping());
    assertEquals(400, single.train().size());
    RoundPlan tiny = RoundPlan.of(groups(20, 20), 1, config(200), new Random(1));
    assertFalse(
        tiny.earlyStopping(),
        "fewer than " + RoundPlan.MIN_VALIDATION_GROUPS + " validation groups");
    RewardTrainerConfig off = config(200);
    off.setValidationFraction(0);
    assertFalse(RoundPlan.of(groups(400, 100), 1, off, new Random(1)).earlyStopping());
  }
}
