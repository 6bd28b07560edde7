package dev.flywheel.model;

/**
 * Supplies the KL coefficient β of {@link PpoLosses#klPenalizedRewards} and adapts it between
 * batches.
 */
public interface KlController {

  /** The current β. */
  double value();

  /**
   * Feeds back the KL measured on the last rollout batch.
   *
   * @param currentKl mean over sequences of the summed per-token KL ({@link
   *     PpoLosses.Rewards#meanSequenceKl()})
   * @param steps number of sequences (episodes) in that batch
   */
  void update(double currentKl, long steps);
}
