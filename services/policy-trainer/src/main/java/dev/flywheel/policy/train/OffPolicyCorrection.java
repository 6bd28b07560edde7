package dev.flywheel.policy.train;

/**
 * Decoupled PPO for stale rollouts (Hilton et al. 2022, "Batch size-invariance for policy
 * optimization"; AReaL, Fu et al. 2025): the clipped ratio is taken against the proximal policy
 * (the current weights before the update, π_prox) instead of the behaviour policy that sampled the
 * batch, and every token's advantage is weighted by the truncated importance ratio w = min(π_prox /
 * π_behaviour, C) (token-level truncated IS). Since w ≥ 0 it factors out of PPO's min(r·A,
 * clip(r)·A).
 *
 * @param weights (B·(T−1)) w on the action mask, 0 elsewhere
 * @param meanWeight mean w over the masked actions
 * @param truncatedFraction share of masked actions whose ratio exceeded C
 * @param meanLogRatio mean log(π_prox / π_behaviour) over the masked actions (≈ −KL(behaviour ‖
 *     prox) per token)
 */
public record OffPolicyCorrection(
    float[] weights, double meanWeight, double truncatedFraction, double meanLogRatio) {

  /**
   * @param rollout the batch, holding the behaviour log-probs
   * @param proximalLogProbs (B·(T−1)) log π_prox of each action
   * @param cap C ≥ 1
   */
  public static OffPolicyCorrection of(Rollout rollout, float[] proximalLogProbs, double cap) {
    float[] behaviour = rollout.behaviourLogProbArray();
    float[] mask = rollout.actionMaskArray();
    if (proximalLogProbs.length != behaviour.length) {
      throw new IllegalArgumentException(
          proximalLogProbs.length + " proximal log-probs for " + behaviour.length + " actions");
    }
    float[] w = new float[behaviour.length];
    double sum = 0;
    double logSum = 0;
    long n = 0;
    long truncated = 0;
    for (int i = 0; i < w.length; i++) {
      if (mask[i] == 0f) {
        continue;
      }
      double logRatio = proximalLogProbs[i] - behaviour[i];
      double ratio = Math.exp(logRatio);
      if (ratio > cap) {
        truncated++;
        ratio = cap;
      }
      w[i] = (float) ratio;
      sum += ratio;
      logSum += logRatio;
      n++;
    }
    return new OffPolicyCorrection(
        w,
        n == 0 ? 1.0 : sum / n,
        n == 0 ? 0.0 : (double) truncated / n,
        n == 0 ? 0.0 : logSum / n);
  }

  /** Multiplies {@code advantages} (B·(T−1)) by the weights, in place. */
  public void weigh(float[] advantages) {
    for (int i = 0; i < advantages.length; i++) {
      advantages[i] *= weights[i];
    }
  }
}
