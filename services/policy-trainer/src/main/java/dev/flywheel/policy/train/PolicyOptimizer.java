package dev.flywheel.policy.train;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.KlController;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.ValueModel;
import java.util.List;

/**
 * One RL algorithm of the policy trainer ({@link PpoConfig.Algorithm}): iterations of sample →
 * score → update on in-memory prompts and models. {@link PpoTrainer} does PPO, RLOO and GRPO (one
 * clipped-surrogate update; they differ in the advantage and where the KL goes), {@link
 * OnlineDpoTrainer} online DPO, {@link RaftTrainer} rejection-sampling fine-tuning.
 */
public interface PolicyOptimizer {

  /**
   * One rollout batch from {@code prompts} and its update; {@code seed} fixes sampling and
   * shuffling.
   */
  IterationStats iterate(List<int[]> prompts, long seed);

  /**
   * The update on a rollout sampled elsewhere (the rollout workers), {@code staleness} learner
   * steps old; only the algorithms that train on a batch of scored samples ({@link PpoTrainer}:
   * PPO, RLOO, GRPO) take one.
   *
   * @param importanceCap truncation of the per-token importance weight of a stale batch
   */
  default IterationStats iterate(SourcedRollout sourced, double importanceCap, long seed) {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " samples its own rollouts (rollout.source: trainer)");
  }

  /** Fits a prompt into the room the context leaves for a response (keeps its last tokens). */
  int[] fitPrompt(int[] prompt);

  /**
   * β: PPO's and RLOO's KL penalty, GRPO's KL loss weight; online DPO's fixed {@code dpo-beta};
   * RAFT's 0.
   */
  KlController kl();

  /** Running score statistics (PPO's score normalisation; untouched by the others). */
  ScoreNormalizer normalizer();

  /** Whether the algorithm trains a value model (only PPO). */
  static boolean needsValueModel(PpoConfig config) {
    return config.getAlgorithm() == PpoConfig.Algorithm.PPO;
  }

  /**
   * The optimizer the config names.
   *
   * @param value the critic for PPO; ignored (may be null) for the others
   * @param beta the starting β (a checkpoint's or the base's, else {@code init-kl-coef}); ignored
   *     by online DPO
   */
  static PolicyOptimizer create(
      PpoConfig config,
      PolicyModel policy,
      PolicyModel reference,
      ValueModel value,
      RewardFunction reward,
      double beta,
      ScoreNormalizer normalizer,
      List<SftExample> ptxData) {
    if (!config.getAlgorithm().isRl()) {
      throw new IllegalArgumentException(
          "ppo.algorithm "
              + config.toMap().get("ppo.algorithm")
              + " is not an RL algorithm: the loop runs it as a round of its own");
    }
    if (config.getAlgorithm() == PpoConfig.Algorithm.ONLINE_DPO) {
      return new OnlineDpoTrainer(config, policy, reference, reward, ptxData);
    }
    if (config.getAlgorithm() == PpoConfig.Algorithm.RAFT) {
      return new RaftTrainer(config, policy, reference, reward, ptxData);
    }
    return new PpoTrainer(
        config,
        policy,
        reference,
        needsValueModel(config) ? value : null,
        reward,
        PpoTrainer.klController(config, beta),
        normalizer,
        ptxData);
  }

  /** A value model when the algorithm needs one ({@link ValueInitialisation#create}), else null. */
  static ValueModel initValue(
      PpoConfig config,
      PolicyModel policy,
      RewardModel rewardModel,
      double rewardOffset,
      double rewardScale,
      NDManager manager) {
    return needsValueModel(config)
        ? ValueInitialisation.create(
            config.getValueInit(), policy, rewardModel, rewardOffset, rewardScale, manager)
        : null;
  }
}
