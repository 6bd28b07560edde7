package dev.flywheel.serving;

import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.serving.engine.DecodeWorker;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.convert.format.ReadableBytes;
import java.time.Duration;

/** {@code flywheel.serving.*}; see the configuration table in README.md. */
@ConfigurationProperties("flywheel.serving")
public class ServingConfig {

  /** Requests arriving within this window of the oldest waiting one decode in the same batch. */
  private Duration batchWindow = Duration.ofMillis(10);

  /** Most rows (candidates, summed over requests) in one decode batch. */
  private int maxBatchRows = 32;

  /** Most rows waiting per model before requests are refused with 429. */
  private int maxQueuedRows = 256;

  /** Largest n (candidates per request). */
  private int maxN = 9;

  /** max_tokens when the request gives none (capped by the room left in the context). */
  private int defaultMaxTokens = 256;

  /** Largest max_tokens / max_completion_tokens a request may ask for (400 beyond); see README. */
  private int maxTokensLimit = 4096;

  /** Longest stop sequence, in characters (400 beyond); see README. */
  private int maxStopLength = 256;

  /** Longest a decode batch may run; rows still running then end with finish_reason length. */
  private Duration decodeTimeout = DecodeWorker.Settings.DEFAULT_DECODE_TIMEOUT;

  /** Bytes of SSE events one stream may have waiting for a slow client before it is cut off. */
  private int maxStreamBuffer = 256 * 1024;

  /** Share of default-alias traffic sent to the newest CANDIDATE version, 0..1. */
  private double canaryShare = 0.1;

  /** Earlier LIVE versions kept loaded, so that a rollback swaps at once. */
  private int keepPrevious = 1;

  /** Where models run: auto, cpu, gpu, gpu:N. */
  private String device = "auto";

  /** If set, file: artifact URIs must point inside this directory. */
  private String artifactRoot;

  /** Retry-After on 429 answers. */
  private Duration retryAfter = Duration.ofSeconds(1);

  /** Retry-After on 503 answers (no version loaded yet, transcript not acknowledged). */
  private Duration unavailableRetryAfter = Duration.ofSeconds(5);

  /** Longest the producer tries to write a transcript (delivery.timeout.ms). */
  private Duration transcriptTimeout = Duration.ofSeconds(10);

  /**
   * How soon a version whose artifact failed for a non-integrity reason (e.g. unreachable) is tried
   * again.
   */
  private Duration loadRetryBackoff = Duration.ofSeconds(30);

  /** Republish a version's status after a PROMOTE/ROLLBACK control event (see README). */
  private boolean republishStatus = true;

  /** Run one tiny decode on a freshly loaded model before it takes traffic. */
  private boolean warmUp = true;

  /** The default model alias (live version, with the canary share). */
  private String modelAlias = "flywheel";

  private String policyVersionsTopic = Topics.POLICY_VERSIONS.name();
  private String controlTopic = Topics.MODEL_CONTROL.name();
  private String transcriptsTopic = Topics.CHAT_TRANSCRIPTS.name();
  private String deadLettersTopic = Topics.DEAD_LETTERS.name();

  public DecodeWorker.Settings workerSettings() {
    return new DecodeWorker.Settings(
        batchWindow, maxBatchRows, maxQueuedRows, warmUp, decodeTimeout);
  }

  public Duration getBatchWindow() {
    return batchWindow;
  }

  public void setBatchWindow(Duration batchWindow) {
    this.batchWindow = batchWindow;
  }

  public int getMaxBatchRows() {
    return maxBatchRows;
  }

  public void setMaxBatchRows(int maxBatchRows) {
    this.maxBatchRows = maxBatchRows;
  }

  public int getMaxQueuedRows() {
    return maxQueuedRows;
  }

  public void setMaxQueuedRows(int maxQueuedRows) {
    this.maxQueuedRows = maxQueuedRows;
  }

  public int getMaxN() {
    return maxN;
  }

  public void setMaxN(int maxN) {
    this.maxN = maxN;
  }

  public int getDefaultMaxTokens() {
    return defaultMaxTokens;
  }

  public void setDefaultMaxTokens(int defaultMaxTokens) {
    this.defaultMaxTokens = defaultMaxTokens;
  }

  public int getMaxTokensLimit() {
    return maxTokensLimit;
  }

  public void setMaxTokensLimit(int maxTokensLimit) {
    if (maxTokensLimit < 1) {
      throw new IllegalArgumentException(
          "flywheel.serving.max-tokens-limit must be positive: " + maxTokensLimit);
    }
    this.maxTokensLimit = maxTokensLimit;
  }

  public int getMaxStopLength() {
    return maxStopLength;
  }

  public void setMaxStopLength(int maxStopLength) {
    if (maxStopLength < 1) {
      throw new IllegalArgumentException(
          "flywheel.serving.max-stop-length must be positive: " + maxStopLength);
    }
    this.maxStopLength = maxStopLength;
  }

  public Duration getDecodeTimeout() {
    return decodeTimeout;
  }

  public void setDecodeTimeout(Duration decodeTimeout) {
    if (decodeTimeout.isNegative() || decodeTimeout.isZero()) {
      throw new IllegalArgumentException(
          "flywheel.serving.decode-timeout must be positive: " + decodeTimeout);
    }
    this.decodeTimeout = decodeTimeout;
  }

  public int getMaxStreamBuffer() {
    return maxStreamBuffer;
  }

  public void setMaxStreamBuffer(@ReadableBytes int maxStreamBuffer) {
    if (maxStreamBuffer < 1) {
      throw new IllegalArgumentException(
          "flywheel.serving.max-stream-buffer must be positive: " + maxStreamBuffer);
    }
    this.maxStreamBuffer = maxStreamBuffer;
  }

  public double getCanaryShare() {
    return canaryShare;
  }

  public void setCanaryShare(double canaryShare) {
    if (!(canaryShare >= 0 && canaryShare <= 1)) {
      throw new IllegalArgumentException(
          "flywheel.serving.canary-share must be in [0, 1]: " + canaryShare);
    }
    this.canaryShare = canaryShare;
  }

  public int getKeepPrevious() {
    return keepPrevious;
  }

  public void setKeepPrevious(int keepPrevious) {
    this.keepPrevious = keepPrevious;
  }

  public String getDevice() {
    return device;
  }

  public void setDevice(String device) {
    this.device = device;
  }

  public String getArtifactRoot() {
    return artifactRoot;
  }

  public void setArtifactRoot(String artifactRoot) {
    this.artifactRoot = artifactRoot;
  }

  public Duration getRetryAfter() {
    return retryAfter;
  }

  public void setRetryAfter(Duration retryAfter) {
    this.retryAfter = retryAfter;
  }

  public Duration getUnavailableRetryAfter() {
    return unavailableRetryAfter;
  }

  public void setUnavailableRetryAfter(Duration unavailableRetryAfter) {
    this.unavailableRetryAfter = unavailableRetryAfter;
  }

  public Duration getTranscriptTimeout() {
    return transcriptTimeout;
  }

  public void setTranscriptTimeout(Duration transcriptTimeout) {
    this.transcriptTimeout = transcriptTimeout;
  }

  public Duration getLoadRetryBackoff() {
    return loadRetryBackoff;
  }

  public void setLoadRetryBackoff(Duration loadRetryBackoff) {
    this.loadRetryBackoff = loadRetryBackoff;
  }

  public boolean isRepublishStatus() {
    return republishStatus;
  }

  public void setRepublishStatus(boolean republishStatus) {
    this.republishStatus = republishStatus;
  }

  public boolean isWarmUp() {
    return warmUp;
  }

  public void setWarmUp(boolean warmUp) {
    this.warmUp = warmUp;
  }

  public String getModelAlias() {
    return modelAlias;
  }

  public void setModelAlias(String modelAlias) {
    this.modelAlias = modelAlias;
  }

  public String getPolicyVersionsTopic() {
    return policyVersionsTopic;
  }

  public void setPolicyVersionsTopic(String policyVersionsTopic) {
    this.policyVersionsTopic = policyVersionsTopic;
  }

  public String getControlTopic() {
    return controlTopic;
  }

  public void setControlTopic(String controlTopic) {
    this.controlTopic = controlTopic;
  }

  public String getTranscriptsTopic() {
    return transcriptsTopic;
  }

  public void setTranscriptsTopic(String transcriptsTopic) {
    this.transcriptsTopic = transcriptsTopic;
  }

  public String getDeadLettersTopic() {
    return deadLettersTopic;
  }

  public void setDeadLettersTopic(String deadLettersTopic) {
    this.deadLettersTopic = deadLettersTopic;
  }
}
