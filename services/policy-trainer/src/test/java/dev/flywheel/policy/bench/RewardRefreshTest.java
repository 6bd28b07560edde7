package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The refresh keys of a LoopExperiment RL setting, and which iterations a refresh follows. */
class RewardRefreshTest {

  @Test
  void readsItsKeysAmongTheSettingsOthers() {
    RewardRefresh.Settings s =
        RewardRefresh.Settings.parse("algo=raft,ptx=0,it=36,rm0=400,refresh=400,every=9");
    assertEquals(new RewardRefresh.Settings(400, 9, 400), s);
    assertTrue(s.any());
    assertFalse(RewardRefresh.Settings.parse("algo=raft,ptx=0,it=36").any());
    assertEquals(0.5, s.replay(), "the reward trainer's replay-fraction by default");
    assertEquals(3.0, RewardRefresh.Settings.parse("refresh=400,every=16,replay=3").replay());
    // the PPO config reader leaves the refresh keys alone instead of rejecting them
    assertEquals(
        36,
        RlSettings.ppoConfig("algo=raft,it=36,rm0=400,refresh=400,every=9")
            .getIterationsPerRound());
  }

  @Test
  void aRefreshWithoutItsPeriodIsRejected() {
    assertThrows(IllegalArgumentException.class, () -> RewardRefresh.Settings.parse("refresh=400"));
    assertThrows(IllegalArgumentException.class, () -> RewardRefresh.Settings.parse("every=9"));
    assertThrows(
        IllegalArgumentException.class,
        () -> RewardRefresh.Settings.parse("refresh=400,every=9,replay=-1"));
  }

  @Test
  void refreshesFollowEveryPeriodButNotTheLastIteration() {
    RewardRefresh.Settings s = RewardRefresh.Settings.parse("refresh=400,every=9");
    StringBuilder due = new StringBuilder();
    for (int done = 1; done <= 36; done++) {
      if (RewardRefresh.due(s, done, 36)) {
        due.append(done).append(' ');
      }
    }
    assertEquals("9 18 27 ", due.toString());
    assertFalse(RewardRefresh.due(RewardRefresh.Settings.parse("rm0=400"), 9, 36));
  }
}
