package dev.flywheel.trainerkit;

import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends {@link TrainingMetrics} (key = source) to {@code training.metrics} for dashboards. Fire and
 * forget: {@link #publish} never blocks on the broker and never throws for delivery problems;
 * failures are counted ({@link #failed()}) and logged (the first, then every 100th). {@link
 * #flush()} waits for what is in flight, {@link #close()} flushes then closes. Thread-safe.
 *
 * <p>Non-finite values (NaN, ±infinity) are dropped from the map: dashboards plot numbers.
 */
public final class MetricsPublisher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(MetricsPublisher.class);

  private final Producer<String, TrainingMetrics> producer;
  private final String topic;
  private final String source;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private volatile boolean closed;

  /** Wraps an existing producer (tests, or to share one). */
  public MetricsPublisher(Producer<String, TrainingMetrics> producer, String topic, String source) {
    this.producer = Objects.requireNonNull(producer, "producer");
    this.topic = Objects.requireNonNull(topic, "topic");
    this.source = Objects.requireNonNull(source, "source");
  }

  /**
   * A publisher to {@code training.metrics} with its own producer ({@code acks=all}, linger 50 ms).
   */
  public static MetricsPublisher create(KafkaSettings kafka, String source) {
    return create(kafka, Topics.TRAINING_METRICS.name(), source);
  }

  public static MetricsPublisher create(KafkaSettings kafka, String topic, String source) {
    Map<String, Object> config = kafka.producerConfig(source + "-metrics");
    config.put(ProducerConfig.LINGER_MS_CONFIG, 50);
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    AvroSerializer<TrainingMetrics> values = new AvroSerializer<>();
    values.configure(config, false);
    return new MetricsPublisher(
        new KafkaProducer<>(config, new StringSerializer(), values), topic, source);
  }

  public String source() {
    return source;
  }

  /**
   * Sends one metrics event asynchronously.
   *
   * @param phase what was measured ({@code reward}, {@code eval}, {@code sft}, {@code ppo}, ...)
   * @param modelVersion the version being trained or evaluated, or null
   * @param round training round
   * @param step optimizer step within the round
   * @param values named figures
   */
  public void publish(
      String phase,
      Long modelVersion,
      long round,
      long step,
      Map<String, ? extends Number> values) {
    if (closed) {
      LOG.debug("metrics publisher closed; dropping {} metrics", phase);
      return;
    }
    Map<String, Double> finite = new LinkedHashMap<>();
    values.forEach(
        (k, v) -> {
          if (v != null && Double.isFinite(v.doubleValue())) {
            finite.put(k, v.doubleValue());
          }
        });
    TrainingMetrics event =
        TrainingMetrics.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setEventTime(Instant.now())
            .setSource(source)
            .setPhase(phase)
            .setModelVersion(modelVersion)
            .setRound(round)
            .setStep(step)
            .setValues(finite)
            .build();
    try {
      producer.send(
          new ProducerRecord<>(topic, source, event),
          (metadata, error) -> {
            if (error == null) {
              sent.incrementAndGet();
            } else {
              onFailure(error);
            }
          });
    } catch (RuntimeException e) {
      onFailure(e);
    }
  }

  private void onFailure(Throwable error) {
    long n = failed.incrementAndGet();
    if (n == 1 || n % 100 == 0) {
      LOG.warn(
          "could not publish training metrics to {} ({} failures so far): {}",
          topic,
          n,
          error.toString());
    }
  }

  /** Events acknowledged by the broker so far. */
  public long sent() {
    return sent.get();
  }

  /** Events that could not be delivered so far. */
  public long failed() {
    return failed.get();
  }

  /** Waits until every event published so far is acknowledged or failed. */
  public void flush() {
    producer.flush();
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      producer.flush();
    } catch (RuntimeException e) {
      LOG.warn("flushing training metrics failed: {}", e.toString());
    }
    producer.close(Duration.ofSeconds(5));
  }
}
