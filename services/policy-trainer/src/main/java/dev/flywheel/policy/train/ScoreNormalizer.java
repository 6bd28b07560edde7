package dev.flywheel.policy.train;

/**
 * Running statistics of reward-model scores (Welford), for TRL-style score scaling / normalisation
 * ({@link PpoConfig.ScoreNormalization}) and clipping. Its state is part of a PPO checkpoint.
 */
public final class ScoreNormalizer {

  private long count;
  private double mean;
  private double m2;

  public ScoreNormalizer() {}

  public ScoreNormalizer(long count, double mean, double m2) {
    this.count = count;
    this.mean = mean;
    this.m2 = m2;
  }

  public long count() {
    return count;
  }

  public double mean() {
    return mean;
  }

  public double m2() {
    return m2;
  }

  public double std() {
    return count < 2 ? 1.0 : Math.sqrt(m2 / (count - 1));
  }

  /**
   * Adds {@code scores} to the statistics, then rescales and clips them in place as configured.
   * {@link PpoConfig.ScoreNormalization#REWARD_MODEL} is the scorer's fixed scale, already applied:
   * only the clip is left to do here.
   */
  public void apply(float[] scores, PpoConfig.ScoreNormalization mode, float clip) {
    if (mode == PpoConfig.ScoreNormalization.SCALE
        || mode == PpoConfig.ScoreNormalization.NORMALIZE) {
      for (float s : scores) {
        count++;
        double delta = s - mean;
        mean += delta / count;
        m2 += delta * (s - mean);
      }
      double std = std() + 1e-8;
      for (int i = 0; i < scores.length; i++) {
        double shifted =
            mode == PpoConfig.ScoreNormalization.NORMALIZE ? scores[i] - mean : scores[i];
        scores[i] = (float) (shifted / std);
      }
    }
    if (clip > 0) {
      for (int i = 0; i < scores.length; i++) {
        scores[i] = Math.max(-clip, Math.min(clip, scores[i]));
      }
    }
  }
}
