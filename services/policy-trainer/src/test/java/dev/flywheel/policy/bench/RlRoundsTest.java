package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The round key of a LoopExperiment RL setting, and after which iterations a new round starts. */
class RlRoundsTest {

  @Test
  void readsTheRoundLengthAmongTheSettingsOtherKeys() {
    String setting = "it=64,round=16,rm0=400,refresh=400,every=16";
    assertEquals(16, RlRounds.length(setting));
    assertEquals(0, RlRounds.length("it=64"), "no key: the whole setting is one round");
    assertEquals(0, RlRounds.length("default"));
    assertEquals(64, RlSettings.ppoConfig(setting).getIterationsPerRound(), "round= is not it=");
    assertThrows(IllegalArgumentException.class, () -> RlRounds.length("it=64,round=0"));
  }

  @Test
  void roundsContinueThePolicyUnlessTheSettingSaysFromSft() {
    assertEquals(false, RlRounds.fromSft("it=64,round=16"));
    assertEquals(false, RlRounds.fromSft("it=64,round=16,base=latest"));
    assertEquals(true, RlRounds.fromSft("it=64,round=16,rm0=400,refresh=400,every=16,base=sft"));
    assertEquals(64, RlSettings.ppoConfig("it=64,round=16,base=sft").getIterationsPerRound());
    assertThrows(IllegalArgumentException.class, () -> RlRounds.fromSft("round=16,base=ppo"));
  }

  @Test
  void aNewRoundFollowsEveryRoundLengthButNotTheLastIteration() {
    StringBuilder starts = new StringBuilder();
    for (int done = 1; done <= 64; done++) {
      if (RlRounds.startsAfter(16, done, 64)) {
        starts.append(done).append(' ');
      }
    }
    assertEquals("16 32 48 ", starts.toString());
    assertEquals(false, RlRounds.startsAfter(0, 16, 64), "round length 0: one round");
  }
}
