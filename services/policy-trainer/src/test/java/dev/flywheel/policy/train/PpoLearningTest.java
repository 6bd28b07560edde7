package dev.flywheel.policy.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.ValueModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every RL algorithm learns a task whose reward is known: an SFT policy writes 8 letters from {a,
 * b, c, d} uniformly, the reward is 2 × the share of 'a'. PPO, RLOO, GRPO, online DPO and RAFT must
 * each raise the mean reward by a clear margin within a bounded number of iterations while the KL
 * to the SFT reference stays under the controller's target.
 */
class PpoLearningTest {

  static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  /**
   * The SFT starting point: 150 steps on letter demonstrations (also offline DPO's, in
   * OfflineDpoTrainerTest).
   */
  static PolicyModel sftLetterPolicy(GptConfig config, NDManager manager) {
    Engine.getInstance().setRandomSeed(7);
    PolicyModel policy = PolicyModel.create(config, manager);
    SftConfig sft = new SftConfig();
    sft.setMaxSteps(150);
    sft.setBatchSize(16);
    sft.setLearningRate(3e-3f);
    sft.setEvalFraction(0.0);
    new SftTrainer(sft).train(policy, TinyTasks.letterDemos(160, 3), new SftTrainer.Listener() {});
    return policy;
  }

  static PpoConfig letterPpoConfig() {
    PpoConfig c = new PpoConfig();
    c.setRolloutBatchSize(32);
    c.setMiniBatchSize(8);
    c.setPpoEpochs(4);
    c.setMaxNewTokens(10);
    c.setLearningRate(1e-4f);
    c.setValueInit(PpoConfig.ValueInit.POLICY);
    return c;
  }

  @Test
  void ppoRaisesTheRewardOfATaskWithAKnownOptimumWhileKlStaysUnderTarget() {
    raisesTheReward(letterPpoConfig());
  }

  /**
   * The same with 4 samples per prompt and the leave-one-out baseline (8 prompts × 4 per batch).
   */
  @Test
  void withTheLeaveOneOutBaselineOverFourSamplesPerPromptToo() {
    PpoConfig c = letterPpoConfig();
    c.setSamplesPerPrompt(4);
    raisesTheReward(c);
  }

  @Test
  void rlooRaisesTheRewardWithoutAValueModel() {
    PpoConfig c = letterPpoConfig();
    c.setAlgorithm(PpoConfig.Algorithm.RLOO);
    raisesTheReward(c);
  }

  @Test
  void grpoRaisesTheRewardWithTheKlInTheLoss() {
    PpoConfig c = letterPpoConfig();
    c.setAlgorithm(PpoConfig.Algorithm.GRPO);
    c.setSamplesPerPrompt(4); // 8 prompts × 4: a group of 8 would leave 4 prompts per batch
    raisesTheReward(c);
  }

  @Test
  void onlineDpoRaisesTheRewardFromBestVersusWorstPairs() {
    PpoConfig c = letterPpoConfig();
    c.setAlgorithm(PpoConfig.Algorithm.ONLINE_DPO);
    raisesTheReward(c);
  }

  /**
   * RAFT has no KL term, so the controller's bound does not apply; what must hold instead is that
   * the gain comes from the selection: the same run with every score 0 (each prompt's first sample
   * kept, the policy trained on its own unselected samples) must not raise the reward.
   */
  @Test
  void raftRaisesTheRewardByKeepingEachPromptsBestAndItsZeroRewardControlDoesNot() {
    PpoConfig c = letterPpoConfig();
    c.setAlgorithm(PpoConfig.Algorithm.RAFT);
    RewardFunction blind = (prompts, responses) -> new float[prompts.size()];
    double before = shareOfAAfter(c, blind, 0);
    double raft = shareOfAAfter(c, TinyTasks.shareOfA(), 12);
    double control = shareOfAAfter(c, blind, 12);
    assertTrue(before < 0.7, "the SFT policy should start near the uniform mix (0.5): " + before);
    assertTrue(raft > before + 0.25, "RAFT: mean reward " + before + " -> " + raft);
    assertTrue(
        control < before + 0.15,
        "without the reward model's choice the reward must not rise: " + before + " -> " + control);
  }

  /**
   * The mean share-of-'a' reward of 128 fresh samples (the same prompts and seed every time) from
   * the SFT letter policy after {@code iterations} of {@code c} against {@code trainingReward}.
   */
  private static double shareOfAAfter(PpoConfig c, RewardFunction trainingReward, int iterations) {
    GptConfig config = TinyTasks.tinyConfig(32);
    try (PolicyModel policy = sftLetterPolicy(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager)) {
      reference.copyTrunkFrom(policy);
      PolicyOptimizer trainer =
          PolicyOptimizer.create(
              c,
              policy,
              reference,
              null,
              trainingReward,
              c.getInitKlCoef(),
              new ScoreNormalizer(),
              List.of());
      for (int i = 0; i < iterations; i++) {
        IterationStats s = trainer.iterate(TinyTasks.letterPrompts(32, i * 32), 100 + i);
        System.out.printf(
            Locale.ROOT,
            "%s iter %2d reward %.3f kl %.3f loss %.3f %s%n",
            c.getAlgorithm(),
            i,
            s.meanReward(),
            s.kl(),
            s.policyLoss(),
            s.algorithmMetrics());
      }
      float[] scores =
          ScoredRollout.sample(
                  new Sampler(policy),
                  TinyTasks.shareOfA(),
                  TinyTasks.letterPrompts(128, 10_000),
                  1,
                  c,
                  999)
              .scores();
      return ArrayStats.mean(scores);
    }
  }

  private static void raisesTheReward(PpoConfig c) {
    GptConfig config = TinyTasks.tinyConfig(32);
    try (PolicyModel policy = sftLetterPolicy(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager)) {
      reference.copyTrunkFrom(policy);
      try (ValueModel value = PolicyOptimizer.initValue(c, policy, null, 0, 1, manager)) {
        PolicyOptimizer trainer =
            PolicyOptimizer.create(
                c,
                policy,
                reference,
                value,
                TinyTasks.shareOfA(),
                c.getInitKlCoef(),
                new ScoreNormalizer(),
                List.of());
        List<IterationStats> history = new ArrayList<>();
        int iterations = 12;
        for (int i = 0; i < iterations; i++) {
          IterationStats s = trainer.iterate(TinyTasks.letterPrompts(32, i * 32), 100 + i);
          history.add(s);
          System.out.printf(
              Locale.ROOT,
              "iter %2d reward %.3f kl %.3f beta %.4f entropy %.3f clip %.3f vloss %.4f ev %.3f approxKl %.4f steps %d len %.1f eos %.2f gen %.2fs upd %.2fs%n",
              i,
              s.meanReward(),
              s.kl(),
              s.beta(),
              s.entropy(),
              s.clipFraction(),
              s.valueLoss(),
              s.explainedVariance(),
              s.approxKl(),
              s.updateSteps(),
              s.meanResponseLength(),
              s.eosRate(),
              s.generationSeconds(),
              s.updateSeconds());
        }
        // 64 episodes before, 128 after: the standard error of each mean is ~0.05
        double before = (history.get(0).meanReward() + history.get(1).meanReward()) / 2;
        double after =
            history.subList(iterations - 4, iterations).stream()
                .mapToDouble(IterationStats::meanReward)
                .average()
                .orElseThrow();
        assertTrue(
            before < 0.7, "the SFT policy should start near the uniform mix (0.5): " + before);
        // with β = 0.2 the KL-regularised optimum is p(a) ≈ 0.54 per letter: reward ≈ 1.08 (PPO,
        // RLOO)
        assertTrue(after > before + 0.25, "mean reward " + before + " -> " + after);
        // the controller holds the KL of the policy, not of one batch: a single 32-sample estimate
        // is heavy-tailed (GRPO once 7.4 then 3.4; PPO with K = 4 read 6.7 and 8.1 once each in
        // 8 runs, back to 1-2 the next iteration), so the window of the last 4 iterations must stay
        // under the target and no single batch may exceed twice it (a run-away policy would)
        double last4 =
            history.subList(iterations - 4, iterations).stream()
                .mapToDouble(IterationStats::kl)
                .average()
                .orElseThrow();
        assertTrue(
            last4 < c.getKlTarget(),
            "mean KL of the last 4 iterations " + last4 + " over the target " + c.getKlTarget());
        for (IterationStats s : history) {
          assertTrue(
              s.kl() < 2 * c.getKlTarget(),
              "one batch's KL " + s.kl() + " over twice the target " + c.getKlTarget());
        }
      }
    }
  }
}
