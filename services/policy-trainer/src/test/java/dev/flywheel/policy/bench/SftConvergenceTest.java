package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The SFT convergence benchmark's settings and its imitation ceiling. */
class SftConvergenceTest {

  @Test
  void aSettingReadsItsKeysAndSharesLoopExperimentsCacheNames() {
    SftConvergence.Setting defaults = SftConvergence.Setting.parse("steps=1800");
    assertEquals(2000, defaults.demos());
    assertEquals(RewardTrunk.POLICY, defaults.trunk());
    assertEquals(0, defaults.evalEvery());
    assertEquals(16, defaults.epochs());
    // the name LoopExperiment gives the same SFT policy: the two benchmarks share the cache
    LoopExperimentOptions loop =
        LoopExperimentOptions.parse(
            new String[] {"--seed", "2", "--sft-steps", "1800", "--eval-fraction", "0.3"});
    assertEquals(loop.sftName(), defaults.cacheName(2, 0.3));

    SftConvergence.Setting s =
        SftConvergence.Setting.parse("demos=8000,steps=7200,trunk=6x192,es=100");
    assertEquals(8000, s.demos());
    assertEquals(7200, s.steps());
    assertEquals(100, s.evalEvery());
    assertEquals("sft-1-8000-7200-es100-ef0.3-trunk6x192", s.cacheName(1, 0.3));
    assertEquals(
        "sft-1-2000-3600-ef0.3-epochs32",
        SftConvergence.Setting.parse("steps=3600,epochs=32").cacheName(1, 0.3));
    SftConvergence.Setting chain = SftConvergence.Setting.parse("round=600,es=100,epochs=32");
    assertEquals(600, chain.round());
    assertEquals("sft-1-2000-es100-ef0.3-chain-epochs32", chain.cacheName(1, 0.3));
    assertEquals(0, defaults.round(), "one run, not a chain");
  }

  @Test
  void aBadSettingIsRefusedNamingItsPart() {
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class, () -> SftConvergence.Setting.parse("steps=10,lr=1"));
    assertTrue(unknown.getMessage().contains("'lr'"), unknown.getMessage());
    IllegalArgumentException shape =
        assertThrows(
            IllegalArgumentException.class, () -> SftConvergence.Setting.parse("trunk=6x100"));
    assertTrue(shape.getMessage().contains("6x100"), shape.getMessage());
    assertThrows(IllegalArgumentException.class, () -> SftConvergence.Setting.parse("steps"));
    IllegalArgumentException both =
        assertThrows(
            IllegalArgumentException.class,
            () -> SftConvergence.Setting.parse("round=600,steps=1800"));
    assertTrue(both.getMessage().contains("'round'"), both.getMessage());
  }

  @Test
  void theDemonstratorsMixScoresBelowTheirGoodAnswerByTheImperfectShare() {
    List<Prompt> prompts = PromptSplit.standard(0.3).heldOut();
    String ceiling = SftConvergence.demonstratorsGold(prompts, 1);
    // "<mix> (the good answer alone <good>)"
    String[] numbers = ceiling.replaceAll("[^0-9. ]", " ").trim().split("\\s+");
    double mix = Double.parseDouble(numbers[0]);
    double good = Double.parseDouble(numbers[numbers.length - 1]);
    assertEquals(1.0, good, 1e-9, "the simulator's good answer is its gold ideal");
    // a quarter imperfect, each imperfect style scoring in [0, 1): the mix is in [0.75, 1)
    assertTrue(mix >= 0.75 && mix < 1.0, ceiling);
    assertEquals(ceiling, SftConvergence.demonstratorsGold(prompts, 1), "deterministic in seed");
  }
}
