package dev.flywheel.model;

/**
 * Adapts β so that the policy's KL from the reference tracks a target (Ziegler et al. 2019, §2.2):
 *
 * <pre>
 *   e = clip(KL / target - 1, -0.2, 0.2)
 *   β ← β · (1 + e · steps / horizon)
 * </pre>
 *
 * Not thread-safe: one controller per training loop.
 */
public final class AdaptiveKlController implements KlController {

  /** Initial β (TRL's init_kl_coef). */
  public static final double DEFAULT_INITIAL = 0.2;

  /**
   * Target KL in nats per sequence (TRL's target; Ziegler et al. used 6 for sentiment, 10
   * elsewhere).
   */
  public static final double DEFAULT_TARGET = 6.0;

  /** Horizon in episodes (TRL's horizon). */
  public static final long DEFAULT_HORIZON = 10_000;

  private final double target;
  private final long horizon;
  private double value;

  public AdaptiveKlController(double initial, double target, long horizon) {
    if (initial < 0 || target <= 0 || horizon <= 0) {
      throw new IllegalArgumentException("need initial >= 0, target > 0, horizon > 0");
    }
    this.value = initial;
    this.target = target;
    this.horizon = horizon;
  }

  /** TRL's defaults: β₀ = 0.2, target 6, horizon 10000. */
  public AdaptiveKlController() {
    this(DEFAULT_INITIAL, DEFAULT_TARGET, DEFAULT_HORIZON);
  }

  @Override
  public double value() {
    return value;
  }

  @Override
  public void update(double currentKl, long steps) {
    double error = Math.max(-0.2, Math.min(0.2, currentKl / target - 1));
    value *= 1 + error * steps / horizon;
  }
}
