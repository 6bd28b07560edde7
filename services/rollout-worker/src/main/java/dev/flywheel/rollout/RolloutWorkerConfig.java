package dev.flywheel.rollout;

import dev.flywheel.schemas.topics.Topics;
import io.micronaut.context.annotation.ConfigurationProperties;
import java.lang.management.ManagementFactory;
import java.time.Duration;

/**
 * {@code flywheel.rollout-worker.*}: where a worker reads requests, writes batches and finds
 * weights. Kafka and the schema registry come from service-kit's {@code flywheel.kafka.*} and
 * {@code flywheel.registry.*}.
 */
@ConfigurationProperties("flywheel.rollout-worker")
public class RolloutWorkerConfig {

  private boolean enabled = true;
  private String device = "auto";
  private String artifactRoot = "artifacts";
  private String requestsTopic = Topics.ROLLOUT_REQUESTS.name();
  private String batchesTopic = Topics.ROLLOUT_BATCHES.name();
  private String deadLettersTopic = Topics.DEAD_LETTERS.name();
  private String groupId = "rollout-workers";
  private String workerId = ManagementFactory.getRuntimeMXBean().getName();
  private Duration pollTimeout = Duration.ofSeconds(1);
  private Duration maxPollInterval = Duration.ofMinutes(10);
  private int cachedModels = 4;

  /** false: the service starts (health, metrics) but answers nothing. Default true. */
  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  /**
   * The shared artifact root the trainers write to (a mounted volume); requests name weights by
   * {@code file:} URIs below it, and anything else is refused. Default {@code artifacts}.
   */
  public String getArtifactRoot() {
    return artifactRoot;
  }

  public void setArtifactRoot(String artifactRoot) {
    this.artifactRoot = artifactRoot;
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

  /**
   * Where a request that cannot be answered goes, with the reason. Default {@code
   * flywheel.dead-letters}.
   */
  public String getDeadLettersTopic() {
    return deadLettersTopic;
  }

  public void setDeadLettersTopic(String deadLettersTopic) {
    this.deadLettersTopic = deadLettersTopic;
  }

  /**
   * The consumer group all workers share (the work is split by partition). Default {@code
   * rollout-workers}.
   */
  public String getGroupId() {
    return groupId;
  }

  public void setGroupId(String groupId) {
    this.groupId = groupId;
  }

  /**
   * Where models generate and score: {@code auto} (the first GPU if PyTorch sees one, else the
   * CPU), {@code cpu}, {@code gpu:N}; the same spec as the trainers' and serving's {@code device}.
   * Default {@code auto}.
   */
  public String getDevice() {
    return device;
  }

  public void setDevice(String device) {
    this.device = device;
  }

  /** Recorded in every batch (which worker answered). Default: the JVM's {@code pid@host}. */
  public String getWorkerId() {
    return workerId;
  }

  public void setWorkerId(String workerId) {
    this.workerId = workerId;
  }

  /** How long one poll waits for a request. Default 1 s. */
  public Duration getPollTimeout() {
    return pollTimeout;
  }

  public void setPollTimeout(Duration pollTimeout) {
    this.pollTimeout = pollTimeout;
  }

  /**
   * Kafka's {@code max.poll.interval.ms}: the longest one request may take before the group gives
   * it to another worker (one request is polled at a time). Default 10 min.
   */
  public Duration getMaxPollInterval() {
    return maxPollInterval;
  }

  public void setMaxPollInterval(Duration maxPollInterval) {
    this.maxPollInterval = maxPollInterval;
  }

  /**
   * Models kept loaded, by artifact SHA-256 (policy snapshots and reward models): with S batches in
   * flight a worker sees S + 1 snapshots and one reward model. Default 4.
   */
  public int getCachedModels() {
    return cachedModels;
  }

  public void setCachedModels(int cachedModels) {
    this.cachedModels = cachedModels;
  }
}
