package dev.flywheel.policy.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.policy.train.SftContinuation.Verdict;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SFT chain's rule: its budget, the length and settings of a round, and when it ends. */
class SftContinuationTest {

  private final SftConfig config = new SftConfig(); // batch 16, at most 600 steps a round

  SftContinuationTest() {
    config.setEpochs(16);
  }

  /** The metrics of a round that ran {@code steps} of {@code planned} on 1,800 demonstrations. */
  private static Map<String, Double> round(
      int steps, int planned, int chain, double before, double after) {
    Map<String, Double> m = new HashMap<>();
    m.put("steps", (double) steps);
    m.put("planned_steps", (double) planned);
    m.put("train_examples", 1800.0);
    m.put("eval_loss_before", before);
    m.put("eval_loss", after);
    m.put(SftContinuation.CHAIN_STEPS, (double) chain);
    return m;
  }

  @Test
  void theBudgetIsTheConfiguredEpochsAndTheRestIsSplitIntoEqualRoundsUnderTheCap() {
    // 1,800 examples at batch 16: 113 steps an epoch, 16 epochs
    assertEquals(1808, SftContinuation.budget(config, 1800));
    assertEquals(452, SftContinuation.roundSteps(config, 0, 1800), "1,808 left: 4 rounds of 452");
    // 1,208 left: two rounds of 604 would pass the cap, so three of 403
    assertEquals(403, SftContinuation.roundSteps(config, 600, 1800));
    assertEquals(402, SftContinuation.roundSteps(config, 1406, 1800), "402 left: one round");
    assertEquals(1, SftContinuation.roundSteps(config, 5000, 1800), "past the budget: one step");

    SftConfig round = SftContinuation.roundConfig(config, 600, 2, 1800);
    assertEquals(403, round.getMaxSteps());
    assertEquals(config.getSeed() + 2, round.getSeed(), "each round shuffles its epochs anew");
    assertEquals(600, config.getMaxSteps(), "the service's settings are not touched");
    assertEquals(config.getLearningRate(), round.getLearningRate());
  }

  @Test
  void aChainGoesOnUntilItsEpochsAreDoneItStopsEarlyOrItStopsImproving() {
    assertEquals(Verdict.CONTINUE, SftContinuation.verdict(round(600, 600, 600, 5.0, 0.4), config));
    assertEquals(
        Verdict.EPOCHS_DONE, SftContinuation.verdict(round(402, 402, 1808, 0.3, 0.25), config));
    assertEquals(
        Verdict.STOPPED_EARLY,
        SftContinuation.verdict(round(300, 403, 900, 0.3, 0.28), config),
        "early stopping ended the round: the eval loss has stopped improving");
    assertEquals(
        Verdict.NOT_IMPROVED, SftContinuation.verdict(round(403, 403, 1003, 0.3, 0.3), config));

    config.setEarlyStoppingMinDelta(0.05);
    assertFalse(SftContinuation.improved(round(403, 403, 1003, 0.3, 0.26), config));
    assertTrue(SftContinuation.improved(round(403, 403, 1003, 0.3, 0.24), config));
  }

  @Test
  void aVersionBeforeChainsCountsItsOwnStepsAndOneWithoutHeldOutDataGoesByEpochsAlone() {
    Map<String, Double> old = round(600, 600, 0, 5.0, 0.4);
    old.remove(SftContinuation.CHAIN_STEPS);
    assertEquals(600, SftContinuation.chainSteps(old));
    assertEquals(0, SftContinuation.chainRound(old));
    assertEquals(Verdict.CONTINUE, SftContinuation.verdict(old, config));

    Map<String, Double> noEval = round(600, 600, 600, 0, 0);
    noEval.remove("eval_loss");
    noEval.remove("eval_loss_before");
    assertTrue(SftContinuation.improved(noEval, config));
    assertEquals(Verdict.CONTINUE, SftContinuation.verdict(noEval, config));

    assertEquals(
        Verdict.EPOCHS_DONE,
        SftContinuation.verdict(Map.of("steps", 10.0), config),
        "not the record of an SFT round");
  }

  @Test
  void withTheChainScheduleEachRoundIsItsPartOfOneCosineOverTheStepsLeftAfterTheFirstRound() {
    assertEquals(null, SftContinuation.window(config, 600, 600, 1800), "round: its own cosine");
    SftConfig chain = config.copy();
    chain.setChainSchedule(SftConfig.ChainSchedule.CHAIN);
    // 1,808 steps; the first round 600: three rounds of 403, 403, 402 along one cosine of 1,208
    Map<String, Double> first = round(600, 600, 600, 5.0, 0.4);
    int restart = SftContinuation.restartStep(first);
    assertEquals(600, restart, "the first continuation restarts where the first round ended");
    int chainSteps = 600;
    int covered = 0;
    for (int r = 1; r <= 3; r++) {
      SftTrainer.ScheduleWindow w = SftContinuation.window(chain, chainSteps, restart, 1800);
      assertEquals(new SftTrainer.ScheduleWindow(covered, 1208), w, "round " + r);
      int steps = SftContinuation.roundSteps(chain, chainSteps, 1800);
      covered += steps;
      chainSteps += steps;
      Map<String, Double> m = round(steps, steps, chainSteps, 0.4, 0.3);
      m.put(SftContinuation.CHAIN_RESTART, (double) restart);
      assertEquals(600, SftContinuation.restartStep(m), "later rounds keep the restart");
    }
    assertEquals(1208, covered, "the rounds cover the cosine exactly");
  }
}
