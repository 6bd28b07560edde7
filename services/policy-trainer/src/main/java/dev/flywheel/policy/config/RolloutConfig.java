package dev.flywheel.policy.config;

import dev.flywheel.schemas.topics.Topics;
import io.micronaut.context.annotation.ConfigurationProperties;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code flywheel.policy-trainer.rollout.*}: where an RL round's rollouts come from. By default the
 * trainer samples them itself, on-policy, as it always has. With {@code source: workers} it asks
 * the rollout workers for them over Kafka ({@code training.rollout-requests} → {@code
 * training.rollout-batches}) and keeps up to {@code max-staleness} batches in flight ahead of its
 * current step: the batch it trains on at step i was sampled from the weights of a step in [i − S,
 * i]. Stale tokens are corrected with decoupled PPO (Hilton et al. 2022): the clipped ratio is
 * taken against the current weights, and each token's advantage is weighted by the truncated
 * importance ratio min(π_now / π_behaviour, {@code importance-cap}).
 */
@ConfigurationProperties("flywheel.policy-trainer.rollout")
public class RolloutConfig {

  /** Who samples an RL round's rollouts. */
  public enum Source {
    /** the trainer itself, on-policy (the default; the synchronous loop) */
    TRAINER,
    /** the rollout workers, through Kafka */
    WORKERS
  }

  private Source source = Source.TRAINER;
  private int maxStaleness = 0;
  private double importanceCap = 2.0;
  private Duration deadline = Duration.ofMinutes(2);
  private int maxAttempts = 5;
  private String requestsTopic = Topics.ROLLOUT_REQUESTS.name();
  private String batchesTopic = Topics.ROLLOUT_BATCHES.name();

  /** {@code trainer} (default) or {@code workers}. */
  public Source getSource() {
    return source;
  }

  public void setSource(Source source) {
    this.source = source;
  }

  /**
   * S: how many learner steps old the weights behind a batch may be (workers only). 0 (default) is
   * synchronous: the request for step i is issued at step i, from its weights, and the learner
   * waits for it — the same samples the trainer would draw itself. S ≥ 1 overlaps sampling with
   * training (AReaL's η, Fu et al. 2025; verl's one-step-off-policy is S = 1).
   */
  public int getMaxStaleness() {
    return maxStaleness;
  }

  public void setMaxStaleness(int maxStaleness) {
    this.maxStaleness = maxStaleness;
  }

  /**
   * C: the truncation of the per-token importance weight π_now / π_behaviour of stale samples
   * (token-level truncated IS; 2.0 as ms-swift's {@code rollout_importance_sampling_threshold} and
   * verl's rollout correction). Unused when a batch is not stale.
   */
  public double getImportanceCap() {
    return importanceCap;
  }

  public void setImportanceCap(double importanceCap) {
    this.importanceCap = importanceCap;
  }

  /**
   * How long a request may wait for its batch before it is issued again (same id, same seed, same
   * weights: a worker that died mid-request is replaced). Default 2 min.
   */
  public Duration getDeadline() {
    return deadline;
  }

  public void setDeadline(Duration deadline) {
    this.deadline = deadline;
  }

  /** Issues of one request before the round fails (and is resumed by the supervisor). Default 5. */
  public int getMaxAttempts() {
    return maxAttempts;
  }

  public void setMaxAttempts(int maxAttempts) {
    this.maxAttempts = maxAttempts;
  }

  /** Default {@code training.rollout-requests}. */
  public String getRequestsTopic() {
    return requestsTopic;
  }

  public void setRequestsTopic(String requestsTopic) {
    this.requestsTopic = requestsTopic;
  }

  /** Default {@code training.rollout-batches}. */
  public String getBatchesTopic() {
    return batchesTopic;
  }

  public void setBatchesTopic(String batchesTopic) {
    this.batchesTopic = batchesTopic;
  }

  /** Refuses settings no round could run with, naming the key. */
  public RolloutConfig validate() {
    if (maxStaleness < 0) {
      throw new IllegalArgumentException(
          "flywheel.policy-trainer.rollout.max-staleness must be >= 0, was " + maxStaleness);
    }
    if (maxStaleness > 0 && source != Source.WORKERS) {
      throw new IllegalArgumentException(
          "flywheel.policy-trainer.rollout.max-staleness > 0 needs source: workers (the trainer"
              + " samples its own rollouts on-policy)");
    }
    if (!(importanceCap >= 1) || !Double.isFinite(importanceCap)) {
      throw new IllegalArgumentException(
          "flywheel.policy-trainer.rollout.importance-cap must be >= 1 and finite, was "
              + importanceCap);
    }
    if (deadline == null || deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException(
          "flywheel.policy-trainer.rollout.deadline must be positive, was " + deadline);
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException(
          "flywheel.policy-trainer.rollout.max-attempts must be >= 1, was " + maxAttempts);
    }
    return this;
  }

  /** The settings recorded with a version (hyper-parameters). */
  public Map<String, String> toMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("rollout.source", source.name().toLowerCase(java.util.Locale.ROOT));
    m.put("rollout.max-staleness", String.valueOf(maxStaleness));
    m.put("rollout.importance-cap", String.valueOf(importanceCap));
    return m;
  }
}
