package dev.flywheel.serving.transcripts;

import dev.flywheel.kit.kafka.AvroProducerFactory;
import dev.flywheel.serving.ServingConfig;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes serving's events (transcripts, dead letters, republished version statuses) with {@code
 * acks=all} and idempotence; the returned future completes with the broker's acknowledgement or the
 * producer's final error ({@code delivery.timeout.ms} = {@code
 * flywheel.serving.transcript-timeout}). Sends are handed to the producer on a small pool because
 * {@code send} can block on metadata ({@code max.block.ms}), never on an HTTP event loop or a
 * decode thread; a send that waited longer than {@code max.block.ms} for a pool thread fails at
 * once, so a Kafka outage answers every request within about twice the timeout.
 */
@Singleton
public class ServingEventPublisher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ServingEventPublisher.class);

  private final KafkaProducer<String, SpecificRecord> producer;
  private final ThreadPoolExecutor sends;
  private final long maxQueueNanos;

  public ServingEventPublisher(AvroProducerFactory factory, ServingConfig config) {
    Duration delivery = config.getTranscriptTimeout();
    long linger = 1;
    this.producer =
        factory.create(
            "flywheel-serving",
            Map.of(
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                true,
                ProducerConfig.LINGER_MS_CONFIG,
                (int) linger,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                (int) delivery.toMillis(),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
                (int) Math.min(5000, delivery.toMillis() - linger),
                ProducerConfig.MAX_BLOCK_MS_CONFIG,
                Math.min(5000L, delivery.toMillis())));
    this.maxQueueNanos = Math.min(5000L, delivery.toMillis()) * 1_000_000L;
    this.sends =
        new ThreadPoolExecutor(
            2,
            2,
            60,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(10_000),
            r -> {
              Thread t = new Thread(r, "serving-send");
              t.setDaemon(true);
              return t;
            });
  }

  public CompletableFuture<RecordMetadata> publish(String topic, String key, SpecificRecord value) {
    CompletableFuture<RecordMetadata> outcome = new CompletableFuture<>();
    long queued = System.nanoTime();
    try {
      sends.execute(
          () -> {
            if (System.nanoTime() - queued > maxQueueNanos) {
              // the send threads are stuck in send() (no metadata: Kafka unreachable); do not add
              // to the pile
              outcome.completeExceptionally(
                  new org.apache.kafka.common.errors.TimeoutException(
                      "waited longer than max.block.ms for a send thread"));
              return;
            }
            try {
              producer.send(
                  new ProducerRecord<>(topic, key, value),
                  (metadata, error) -> {
                    if (error == null) {
                      outcome.complete(metadata);
                    } else {
                      outcome.completeExceptionally(error);
                    }
                  });
            } catch (RuntimeException e) {
              outcome.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      outcome.completeExceptionally(
          new IllegalStateException("10000 events are waiting to be sent", e));
    }
    return outcome;
  }

  @Override
  @PreDestroy
  public void close() {
    sends.shutdown();
    try {
      sends.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(10));
    LOG.debug("event producer closed");
  }
}
