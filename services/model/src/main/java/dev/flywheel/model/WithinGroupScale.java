package dev.flywheel.model;

/**
 * The pooled within-group standard deviation of reward-model scores: each group's responses (the
 * answers to ONE prompt) centred on their own mean, the squares summed over all groups and divided
 * by Σ (n_g − 1). It is the spread an RL advantage sees, without the per-prompt offsets that
 * dominate the raw spread of scores. The reward trainer publishes it with every version as {@code
 * reward_scale}; dividing offset-corrected scores by it puts every version on one unit scale, so
 * constants that assume unit-scale rewards (the KL coefficient β, PPO's value clip) mean the same
 * for each.
 */
public final class WithinGroupScale {

  private double squares;
  private long freedom;

  /** Adds one group: {@code scores[from, from + n)}. A group of one adds nothing. */
  public WithinGroupScale add(float[] scores, int from, int n) {
    if (n < 2) {
      return this;
    }
    double mean = 0;
    for (int i = from; i < from + n; i++) {
      mean += scores[i];
    }
    mean /= n;
    for (int i = from; i < from + n; i++) {
      squares += (scores[i] - mean) * (scores[i] - mean);
    }
    freedom += n - 1;
    return this;
  }

  /** Adds one group: all of {@code scores}. */
  public WithinGroupScale add(float[] scores) {
    return add(scores, 0, scores.length);
  }

  /** The pooled standard deviation; NaN before any group of two or more. */
  public double value() {
    return freedom == 0 ? Double.NaN : Math.sqrt(squares / freedom);
  }
}
