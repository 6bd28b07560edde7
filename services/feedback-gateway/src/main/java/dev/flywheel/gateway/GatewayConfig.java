package dev.flywheel.gateway;

import dev.flywheel.feedback.client.FeedbackRules;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.convert.format.ReadableBytes;
import java.time.Duration;

/** {@code flywheel.gateway.*}: request limits, duplicate suppression and delivery timeouts. */
@ConfigurationProperties("flywheel.gateway")
public class GatewayConfig {

  /** Most items one {@code :batch} request may carry. */
  private int maxBatchItems = 500;

  /** Largest single event, Avro-encoded (stay below the broker's message.max.bytes). */
  private int maxEventBytes = 512 * 1024;

  /**
   * Longest id (eventId, transcriptId, responseId, annotatorId, ...), in characters; see README.
   */
  private int maxIdLength = FeedbackRules.DEFAULT_MAX_ID_LENGTH;

  /** Longest text (turn text, prompt, response text, comment), in characters; see README. */
  private int maxTextLength = FeedbackRules.DEFAULT_MAX_TEXT_LENGTH;

  /**
   * Request-body bytes received and processed at once, all requests together (503 beyond); see
   * README.
   */
  private long maxInFlightBodyBytes = 16L * 1024 * 1024;

  /** How far ahead of the gateway's clock an eventTime may be. */
  private Duration maxFutureSkew = Duration.ofMinutes(5);

  /** How long an event id is remembered for duplicate suppression. */
  private Duration idempotencyWindow = Duration.ofHours(1);

  /** Most event ids remembered (oldest forgotten first). */
  private int idempotencyMaxEntries = 100_000;

  /**
   * Kafka delivery.timeout.ms: the longest the producer tries one record before the gateway answers
   * 503.
   */
  private Duration deliveryTimeout = Duration.ofSeconds(10);

  /** Kafka request.timeout.ms (capped at delivery-timeout - linger). */
  private Duration requestTimeout = Duration.ofSeconds(4);

  /** Kafka max.block.ms: the longest a send waits for metadata or buffer space. */
  private Duration maxBlock = Duration.ofSeconds(5);

  /** Kafka linger.ms. */
  private Duration linger = Duration.ofMillis(2);

  /** Value of the Retry-After header on 503 answers. */
  private Duration retryAfter = Duration.ofSeconds(5);

  /** Threads handing records to the producer (a send can block up to max-block). */
  private int sendThreads = 16;

  /** Sends waiting for a thread before the gateway answers 503 at once. */
  private int sendQueue = 10_000;

  public FeedbackRules.Limits limits() {
    return new FeedbackRules.Limits(maxEventBytes, maxFutureSkew, maxIdLength, maxTextLength);
  }

  /**
   * Longest Idempotency-Key header: the id limit less 8 characters, room for the {@code :<index>}
   * that batch items without an eventId get appended (up to 9 999 999 items).
   */
  public int maxIdempotencyKeyLength() {
    return Math.max(1, maxIdLength - 8);
  }

  /**
   * request.timeout.ms as Kafka will accept it: delivery.timeout.ms >= linger.ms +
   * request.timeout.ms.
   */
  public Duration effectiveRequestTimeout() {
    Duration cap = deliveryTimeout.minus(linger);
    return requestTimeout.compareTo(cap) > 0 ? cap : requestTimeout;
  }

  public int getMaxBatchItems() {
    return maxBatchItems;
  }

  public void setMaxBatchItems(int maxBatchItems) {
    this.maxBatchItems = maxBatchItems;
  }

  public int getMaxEventBytes() {
    return maxEventBytes;
  }

  public void setMaxEventBytes(int maxEventBytes) {
    this.maxEventBytes = maxEventBytes;
  }

  public int getMaxIdLength() {
    return maxIdLength;
  }

  public void setMaxIdLength(int maxIdLength) {
    if (maxIdLength < 9) {
      throw new IllegalArgumentException(
          "flywheel.gateway.max-id-length must be at least 9: " + maxIdLength);
    }
    this.maxIdLength = maxIdLength;
  }

  public int getMaxTextLength() {
    return maxTextLength;
  }

  public void setMaxTextLength(int maxTextLength) {
    if (maxTextLength < 1) {
      throw new IllegalArgumentException(
          "flywheel.gateway.max-text-length must be positive: " + maxTextLength);
    }
    this.maxTextLength = maxTextLength;
  }

  public long getMaxInFlightBodyBytes() {
    return maxInFlightBodyBytes;
  }

  public void setMaxInFlightBodyBytes(@ReadableBytes long maxInFlightBodyBytes) {
    if (maxInFlightBodyBytes < 1) {
      throw new IllegalArgumentException(
          "flywheel.gateway.max-in-flight-body-bytes must be positive");
    }
    this.maxInFlightBodyBytes = maxInFlightBodyBytes;
  }

  public Duration getMaxFutureSkew() {
    return maxFutureSkew;
  }

  public void setMaxFutureSkew(Duration maxFutureSkew) {
    this.maxFutureSkew = maxFutureSkew;
  }

  public Duration getIdempotencyWindow() {
    return idempotencyWindow;
  }

  public void setIdempotencyWindow(Duration idempotencyWindow) {
    this.idempotencyWindow = idempotencyWindow;
  }

  public int getIdempotencyMaxEntries() {
    return idempotencyMaxEntries;
  }

  public void setIdempotencyMaxEntries(int idempotencyMaxEntries) {
    this.idempotencyMaxEntries = idempotencyMaxEntries;
  }

  public Duration getDeliveryTimeout() {
    return deliveryTimeout;
  }

  public void setDeliveryTimeout(Duration deliveryTimeout) {
    this.deliveryTimeout = deliveryTimeout;
  }

  public Duration getRequestTimeout() {
    return requestTimeout;
  }

  public void setRequestTimeout(Duration requestTimeout) {
    this.requestTimeout = requestTimeout;
  }

  public Duration getMaxBlock() {
    return maxBlock;
  }

  public void setMaxBlock(Duration maxBlock) {
    this.maxBlock = maxBlock;
  }

  public Duration getLinger() {
    return linger;
  }

  public void setLinger(Duration linger) {
    this.linger = linger;
  }

  public Duration getRetryAfter() {
    return retryAfter;
  }

  public void setRetryAfter(Duration retryAfter) {
    this.retryAfter = retryAfter;
  }

  public int getSendThreads() {
    return sendThreads;
  }

  public void setSendThreads(int sendThreads) {
    this.sendThreads = sendThreads;
  }

  public int getSendQueue() {
    return sendQueue;
  }

  public void setSendQueue(int sendQueue) {
    this.sendQueue = sendQueue;
  }
}
