package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.model.LearningRateSchedule;
import org.junit.jupiter.api.Test;

/**
 * The learning rate of a round and of the same round resumed from a mid-round checkpoint, whose
 * optimizer starts with fresh Adam moments: it warms up again to where the round was, then follows
 * the same decay to the same final rate.
 */
class RoundTrainingOptimizerTest {

  private static RewardTrainerConfig config() {
    RewardTrainerConfig c = new RewardTrainerConfig();
    c.setLearningRate(1e-3);
    c.setWarmupSteps(5);
    return c;
  }

  @Test
  void aFreshRoundWarmsUpAndDecaysToTheMinimum() {
    LearningRateSchedule s = RoundTraining.optimizer(config(), 200, 0).schedule();
    assertEquals(1e-3 / 5, s.at(1), 1e-9);
    assertEquals(1e-3, s.at(5), 1e-9);
    assertEquals(1e-4, s.at(200), 1e-9);
  }

  @Test
  void aResumedRoundWarmsUpAgainToTheRateItStoppedAtThenEndsWhereTheRoundWould() {
    LearningRateSchedule round = RoundTraining.optimizer(config(), 200, 0).schedule();
    LearningRateSchedule resumed = RoundTraining.optimizer(config(), 200, 10).schedule();
    float where = round.at(11);
    // fresh moments make the first update sign(gradient) × rate: it starts at a fifth of the rate
    assertEquals(where / 5, resumed.at(1), 1e-9);
    for (int u = 2; u <= 5; u++) {
      assertTrue(resumed.at(u) > resumed.at(u - 1), "warming up at update " + u);
    }
    assertEquals(where, resumed.at(5), 1e-9);
    assertTrue(resumed.at(6) < where, "decaying after the warm-up");
    // the same final rate at the round's last step (update 190 of the resumed optimizer)
    assertEquals(round.at(200), resumed.at(190), 1e-7);
  }

  @Test
  void aResumeOneStepBeforeTheEndTakesThatStepWithoutWarmUp() {
    LearningRateSchedule round = RoundTraining.optimizer(config(), 200, 0).schedule();
    LearningRateSchedule resumed = RoundTraining.optimizer(config(), 200, 199).schedule();
    assertEquals(round.at(200), resumed.at(1), 1e-7);
  }
}
