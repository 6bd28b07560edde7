package dev.flywheel.policy.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.ValueModel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rollouts sampled elsewhere (#17): decoupled PPO's truncated importance weights, and the trainer's
 * update on a batch it did not sample — identical to its own when the batch is fresh, corrected
 * when it is stale.
 */
class OffPolicyCorrectionTest {

  static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void weightsAreTheTruncatedRatioOnTheActionMaskOnly() {
    // prompt of 2 tokens, response of 3: actions at slots 1..3 of 4
    Rollout rollout =
        Rollout.of(
            List.of(new int[] {5, 6}),
            List.of(new int[] {7, 8, 9}),
            List.of(new float[] {-1f, -2f, -3f}));
    float[] proximal = {0f, -1f, -1f, -4f};
    OffPolicyCorrection c = OffPolicyCorrection.of(rollout, proximal, 2.0);
    assertEquals(0f, c.weights()[0], "the prompt's slot is off the mask");
    assertEquals(1f, c.weights()[1], 1e-6f, "same log-prob: weight 1");
    assertEquals(2f, c.weights()[2], 1e-6f, "e^1 = 2.72 truncated at 2");
    assertEquals((float) Math.exp(-1), c.weights()[3], 1e-6f, "below 1 kept");
    assertEquals((1 + 2 + Math.exp(-1)) / 3, c.meanWeight(), 1e-6);
    assertEquals(1.0 / 3, c.truncatedFraction(), 1e-12);
    assertEquals(0.0, c.meanLogRatio(), 1e-6, "(0 + 1 - 1) / 3");
    float[] advantages = {9f, 1f, 1f, 1f};
    c.weigh(advantages);
    assertArrayEquals(new float[] {0f, 1f, 2f, (float) Math.exp(-1)}, advantages, 1e-6f);
  }

  @Test
  void otherOldLogProbsLandOnTheSameActionSlots() {
    Rollout rollout =
        Rollout.of(
            List.of(new int[] {5, 6}, new int[] {5}),
            List.of(new int[] {7, 8, 9}, new int[] {7}),
            List.of(new float[] {-1f, -2f, -3f}, new float[] {-0.5f}));
    Rollout same = rollout.withOldLogProbs(rollout.behaviourLogProbArray());
    assertArrayEquals(rollout.behaviourLogProbArray(), same.behaviourLogProbArray());
    assertArrayEquals(rollout.tokenArray(), same.tokenArray());
    assertArrayEquals(rollout.actionMaskArray(), same.actionMaskArray());
    float[] shifted = rollout.behaviourLogProbArray().clone();
    for (int i = 0; i < shifted.length; i++) {
      shifted[i] -= rollout.actionMaskArray()[i];
    }
    assertArrayEquals(shifted, rollout.withOldLogProbs(shifted).behaviourLogProbArray());
  }

  @Test
  void aFreshBatchFromElsewhereTrainsExactlyAsOneSampledHereAndAStaleOneIsCorrected() {
    GptConfig config = TinyTasks.tinyConfig(32);
    PpoConfig c = new PpoConfig();
    c.setRolloutBatchSize(8);
    c.setMiniBatchSize(4);
    c.setPpoEpochs(1);
    c.setMaxNewTokens(4);
    List<int[]> prompts = TinyTasks.letterPrompts(8, 0);

    IterationStats own;
    try (Models a = new Models(config)) {
      own = a.trainer(c).iterate(prompts, 11);
    }
    try (Models b = new Models(config)) {
      PpoTrainer trainer = b.trainer(c);
      ScoredRollout scored =
          ScoredRollout.sample(
              new Sampler(b.policy),
              TinyTasks.shareOfA(),
              prompts.stream().map(trainer::fitPrompt).toList(),
              1,
              c,
              11);
      IterationStats fresh =
          trainer.iterate(new SourcedRollout(scored, 0, 0.5, 0.1, Map.of()), 2.0, 11);
      assertEquals(own.meanReward(), fresh.meanReward(), 0.0);
      assertEquals(own.policyLoss(), fresh.policyLoss(), 1e-6);
      assertEquals(own.approxKl(), fresh.approxKl(), 1e-6);
      assertEquals(own.valueLoss(), fresh.valueLoss(), 1e-6);
      assertFalse(fresh.metrics().containsKey("tis_weight_mean"), "no correction when fresh");
      assertEquals(0.1, fresh.generationSeconds(), 0.0, "the learner's wait");
    }
    try (Models d = new Models(config)) {
      PpoTrainer trainer = d.trainer(c);
      ScoredRollout scored =
          ScoredRollout.sample(
              new Sampler(d.policy),
              TinyTasks.shareOfA(),
              prompts.stream().map(trainer::fitPrompt).toList(),
              1,
              c,
              11);
      // declared one step old, but sampled from the same weights: every weight is ~1
      IterationStats stale =
          trainer.iterate(
              new SourcedRollout(scored, 1, 0.5, 0.1, Map.of("off_policy_staleness", 1.0)),
              2.0,
              11);
      Map<String, Double> m = stale.metrics();
      assertEquals(1.0, m.get("tis_weight_mean"), 1e-3);
      assertEquals(0.0, m.get("tis_truncated_fraction"), 0.0);
      assertEquals(1.0, m.get("off_policy_staleness"), 0.0, "the source's figures pass through");
      assertEquals(own.policyLoss(), stale.policyLoss(), 1e-3, "a no-op correction");
      assertTrue(Double.isFinite(stale.approxKl()));
    }
  }

  @Test
  void aStaleBatchIsPenalisedAndReportedAtTheBehaviourPolicysKlNotTheProximalOnes() {
    GptConfig config = TinyTasks.tinyConfig(32);
    PpoConfig c = new PpoConfig();
    c.setRolloutBatchSize(8);
    c.setMiniBatchSize(4);
    c.setPpoEpochs(2);
    c.setMaxNewTokens(6);
    c.setLearningRate(3e-3f);
    c.setEarlyStopping(false);
    List<int[]> prompts = TinyTasks.letterPrompts(8, 0);
    try (Models d = new Models(config)) {
      PpoTrainer trainer = d.trainer(c);
      List<int[]> fitted = prompts.stream().map(trainer::fitPrompt).toList();
      // sampled at step 0, trained on at step 1, after the policy has moved
      ScoredRollout scored =
          ScoredRollout.sample(new Sampler(d.policy), TinyTasks.shareOfA(), fitted, 1, c, 11);
      trainer.iterate(prompts, 12);
      Rollout r = scored.rollout();
      float[] mask = r.actionMaskArray();
      float[] behaviour = r.behaviourLogProbArray();
      float[] proximal = PpoTrainer.actionLogProbs(d.policy, r);
      float[] ref = PpoTrainer.actionLogProbs(d.reference, r);
      double behaviourKl = 0;
      double proximalKl = 0;
      for (int i = 0; i < mask.length; i++) {
        behaviourKl += mask[i] * (behaviour[i] - ref[i]) / r.batchSize();
        proximalKl += mask[i] * (proximal[i] - ref[i]) / r.batchSize();
      }
      assertTrue(
          Math.abs(proximalKl - behaviourKl) > 0.01,
          "the policy moved: the two estimates differ ("
              + behaviourKl
              + " against "
              + proximalKl
              + ")");
      IterationStats stale =
          trainer.iterate(new SourcedRollout(scored, 1, 0.5, 0.1, Map.of()), 2.0, 13);
      // k1 = log π − log π_ref estimates KL only on samples from π: here, the behaviour policy
      assertEquals(behaviourKl, stale.kl(), 1e-4);
      assertTrue(stale.metrics().get("off_policy_log_ratio") != 0.0);
    }
  }

  /** Policy, reference and value of one run, from the same seed each time. */
  private static final class Models implements AutoCloseable {
    final PolicyModel policy;
    final PolicyModel reference;
    final ValueModel value;

    Models(GptConfig config) {
      Engine.getInstance().setRandomSeed(6);
      policy = PolicyModel.create(config, manager);
      reference = PolicyModel.create(config, manager);
      value = ValueInitialisation.create(PpoConfig.ValueInit.POLICY, policy, null, 0, 1, manager);
    }

    PpoTrainer trainer(PpoConfig c) {
      return new PpoTrainer(
          c,
          policy,
          reference,
          value,
          TinyTasks.shareOfA(),
          PpoTrainer.klController(c, 0.2),
          new ScoreNormalizer(),
          List.of());
    }

    @Override
    public void close() {
      value.close();
      reference.close();
      policy.close();
    }
  }
}
