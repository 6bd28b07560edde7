package dev.flywheel.policy.train;

import java.util.Map;

/**
 * A rollout batch as the learner receives it.
 *
 * @param scored the scored episodes
 * @param staleness how many learner steps older than the current weights the weights that sampled
 *     it are (0: on-policy)
 * @param samplingSeconds time the sampling and scoring took where it ran
 * @param waitSeconds time the learner spent obtaining it (sampling it itself, or waiting for it)
 * @param metrics figures of how it was obtained (workers: {@code rollout_wait_s}, {@code
 *     off_policy_*}, ...), added to the iteration's
 */
public record SourcedRollout(
    ScoredRollout scored,
    int staleness,
    double samplingSeconds,
    double waitSeconds,
    Map<String, Double> metrics) {

  public SourcedRollout {
    if (staleness < 0) {
      throw new IllegalArgumentException("staleness must be >= 0: " + staleness);
    }
    metrics = Map.copyOf(metrics);
  }
}
