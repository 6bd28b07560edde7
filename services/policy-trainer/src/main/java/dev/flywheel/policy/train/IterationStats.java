package dev.flywheel.policy.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Figures of one iteration of a {@link PolicyOptimizer} (PPO, RLOO, GRPO, online DPO, RAFT).
 *
 * @param meanReward mean score of the rollout (reward function minus offset, before normalisation)
 * @param kl mean over episodes of Σ_t (log π_old − log π_ref): nats per sequence
 * @param beta the β that penalised this batch; {@code nextBeta} the controller's value after it
 * @param explainedVariance of the returns by the rollout-time values
 * @param ratioSkippedSteps minibatches whose mean ratio exceeded {@code ratioThreshold} (no policy
 *     gradient)
 * @param nonFiniteSteps steps the Learner skipped because the gradient was not finite
 * @param generationSeconds sampling; {@code scoringSeconds} reward, reference and value passes;
 *     {@code updateSeconds} the PPO epochs
 * @param algorithmMetrics figures only one algorithm has (online DPO: {@code dpo_pairs}, {@code
 *     dpo_margin}, {@code dpo_accuracy}); NaN where a figure does not apply to the algorithm
 */
public record IterationStats(
    double meanReward,
    double rewardStd,
    double kl,
    double beta,
    double entropy,
    double clipFraction,
    double valueLoss,
    double policyLoss,
    double approxKl,
    double valueClipFraction,
    double explainedVariance,
    double ptxLoss,
    double meanResponseLength,
    double eosRate,
    int episodes,
    long generatedTokens,
    int updateSteps,
    boolean earlyStopped,
    int ratioSkippedSteps,
    int nonFiniteSteps,
    double generationSeconds,
    double scoringSeconds,
    double updateSeconds,
    double nextBeta,
    Map<String, Double> algorithmMetrics) {

  public double totalSeconds() {
    return generationSeconds + scoringSeconds + updateSeconds;
  }

  public double rolloutTokensPerSecond() {
    return generatedTokens / Math.max(1e-9, generationSeconds);
  }

  public double updateStepsPerSecond() {
    return updateSteps / Math.max(1e-9, updateSeconds);
  }

  public double generationShare() {
    return generationSeconds / Math.max(1e-9, totalSeconds());
  }

  /** TrainingMetrics values (phase {@code ppo}); NaN figures are left out. */
  public Map<String, Double> metrics() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("mean_reward", meanReward);
    m.put("reward_std", rewardStd);
    m.put("kl", kl);
    m.put("entropy", entropy);
    m.put("clip_fraction", clipFraction);
    m.put("value_loss", valueLoss);
    m.put("policy_loss", policyLoss);
    m.put("approx_kl", approxKl);
    m.put("value_clip_fraction", valueClipFraction);
    m.put("explained_variance", explainedVariance);
    m.put("beta", beta);
    m.put("rollout_tokens_per_s", rolloutTokensPerSecond());
    m.put("update_steps_per_s", updateStepsPerSecond());
    m.put("generation_share", generationShare());
    m.put("response_length", meanResponseLength);
    m.put("eos_rate", eosRate);
    m.put("update_steps", (double) updateSteps);
    m.put("early_stopped", earlyStopped ? 1.0 : 0.0);
    m.put("ratio_skipped_steps", (double) ratioSkippedSteps);
    m.put("non_finite_steps", (double) nonFiniteSteps);
    m.put("iteration_seconds", totalSeconds());
    m.put("ptx_loss", ptxLoss);
    m.putAll(algorithmMetrics);
    m.values().removeIf(v -> v == null || Double.isNaN(v) || Double.isInfinite(v));
    return m;
  }
}
