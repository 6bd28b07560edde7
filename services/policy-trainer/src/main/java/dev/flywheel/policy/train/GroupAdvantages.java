package dev.flywheel.policy.train;

/**
 * The group baselines of the critic-free algorithms, on plain arrays: rows {@code g·k .. g·k+k−1}
 * are the k samples of one prompt. {@link #leaveOneOut} is also PPO's baseline when it samples more
 * than one response per prompt.
 */
public final class GroupAdvantages {

  private GroupAdvantages() {}

  /**
   * In place: each score minus the mean of the other {@code k − 1} scores of its group (rows {@code
   * g·k .. g·k+k−1} are the samples of one prompt). The RLOO baseline: unbiased, since it does not
   * depend on the sample it is subtracted from.
   */
  public static void leaveOneOut(float[] scores, int k) {
    if (k < 2 || scores.length % k != 0) {
      throw new IllegalArgumentException(
          scores.length + " scores do not form groups of " + k + " >= 2");
    }
    for (int g = 0; g < scores.length; g += k) {
      double sum = 0;
      for (int i = g; i < g + k; i++) {
        sum += scores[i];
      }
      for (int i = g; i < g + k; i++) {
        scores[i] = (float) (scores[i] - (sum - scores[i]) / (k - 1));
      }
    }
  }

  /**
   * The critic-free advantages of RLOO and GRPO: one number per sample, spread over its response
   * tokens. Rows {@code g·k .. g·k+k−1} are the samples of one prompt; KL_r = Σ_t (log π_old − log
   * π_ref) over row r's response (the sampler's log-probs).
   *
   * <ul>
   *   <li>RLOO: R_r = score_r − β·KL_r, A_r = R_r − mean of the other k − 1 R of its prompt
   *       (Ahmadian et al. 2024 eq. 7; TRL {@code RLOOTrainer}); then whitened over the batch when
   *       {@code whiten-advantages} (TRL's {@code normalize_advantage}, off there; on here so that
   *       the ptx weight means the same next to every algorithm);
   *   <li>GRPO: A_r = (score_r − mean) / (std + 1e-4) over its prompt's k scores, std with k − 1
   *       (Shao et al. 2024 §4.1.2; TRL {@code GRPOTrainer}, {@code scale_rewards}); the KL is not
   *       in the reward but in the loss ({@link PpoTrainer}'s update). A prompt whose k scores are
   *       all equal gives every sample A = 0.
   * </ul>
   *
   * {@code rewards} holds R_r (RLOO) or the score (GRPO) on the row's last action, {@code returns}
   * zeros.
   */
  public static PpoTrainer.Advantages of(
      Rollout rollout, float[] refLogProbs, float[] scores, float beta, int k, PpoConfig config) {
    int b = rollout.batchSize();
    int actions = rollout.length() - 1;
    if (k < 2 || b % k != 0) {
      throw new IllegalArgumentException(b + " samples do not form groups of " + k + " >= 2");
    }
    float[] mask = rollout.actionMaskArray();
    float[] old = rollout.behaviourLogProbArray();
    float[] klPerAction = new float[b * actions];
    double[] sequenceKl = new double[b];
    double klSum = 0;
    for (int r = 0; r < b; r++) {
      for (int t = r * actions; t < (r + 1) * actions; t++) {
        if (mask[t] > 0) {
          klPerAction[t] = old[t] - refLogProbs[t];
          sequenceKl[r] += klPerAction[t];
        }
      }
      klSum += sequenceKl[r];
    }
    boolean rloo = config.getAlgorithm() == PpoConfig.Algorithm.RLOO;
    float[] perSample = new float[b];
    for (int r = 0; r < b; r++) {
      perSample[r] = rloo ? (float) (scores[r] - beta * sequenceKl[r]) : scores[r];
    }
    float[] sequenceReward = perSample.clone();
    if (rloo) {
      leaveOneOut(perSample, k);
      if (config.isWhitenAdvantages()) {
        whiten(perSample);
      }
    } else {
      for (int g = 0; g < b; g += k) {
        double mean = 0;
        for (int i = g; i < g + k; i++) {
          mean += perSample[i] / (double) k;
        }
        double var = 0;
        for (int i = g; i < g + k; i++) {
          var += (perSample[i] - mean) * (perSample[i] - mean) / (k - 1);
        }
        double std = Math.sqrt(var);
        for (int i = g; i < g + k; i++) {
          perSample[i] = (float) ((perSample[i] - mean) / (std + 1e-4));
        }
      }
    }
    float[] advantages = new float[b * actions];
    float[] rewards = new float[b * actions];
    for (int r = 0; r < b; r++) {
      int last = -1;
      for (int t = r * actions; t < (r + 1) * actions; t++) {
        if (mask[t] > 0) {
          advantages[t] = perSample[r];
          last = t;
        }
      }
      if (last >= 0) {
        rewards[last] = sequenceReward[r];
      }
    }
    return new PpoTrainer.Advantages(
        rewards, klPerAction, advantages, new float[b * actions], klSum / b);
  }

  /** In place: zero mean, unit standard deviation (left alone when the spread is ~0). */
  private static void whiten(float[] x) {
    double m = ArrayStats.mean(x);
    double sd = ArrayStats.std(x);
    if (sd < 1e-8) {
      return;
    }
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) ((x[i] - m) / sd);
    }
  }
}
