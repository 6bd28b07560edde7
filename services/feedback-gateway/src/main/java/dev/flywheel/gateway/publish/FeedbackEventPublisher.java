package dev.flywheel.gateway.publish;

import dev.flywheel.gateway.GatewayConfig;
import dev.flywheel.kit.kafka.AvroProducerFactory;
import dev.flywheel.schemas.serde.AvroSerdeException;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes events to Kafka and reports each outcome only once it is final.
 *
 * <p>The rule this class exists for: an event the gateway answered 503 for must never reach the
 * topic later. A producer keeps retrying a record until {@code delivery.timeout.ms}; an HTTP
 * handler that gave up earlier and answered 503 would leave the record behind to be written when
 * the broker comes back. So:
 *
 * <ul>
 *   <li>the outcome of a send is decided by the producer's own callback, never by a shorter timer
 *       of ours (the callback's verdict is final: a record whose callback reported an error is not
 *       retried);
 *   <li>after any delivery failure the producer is retired: closed with a zero timeout, which fails
 *       every record still queued in it, and replaced by a fresh one for later sends, so no batch
 *       of a failed producer is ever retried;
 *   <li>a watchdog retires a producer whose callback has not come {@code delivery.timeout.ms +
 *       max.block.ms} after the send (it should never fire), and only then is the request failed.
 * </ul>
 *
 * What remains is the ambiguity no producer can remove: a request the broker appended but whose
 * response was lost (the broker crashed between append and answer, then stayed down past the
 * delivery timeout). Consumers de-duplicate by event id for that case.
 */
@Singleton
@Context
public class FeedbackEventPublisher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(FeedbackEventPublisher.class);

  /** One producer instance; replaced as a whole after a failure. */
  private static final class Handle {
    final KafkaProducer<String, SpecificRecord> producer;
    final int generation;

    /** Completes once the producer is closed (after it was retired). */
    final CompletableFuture<Void> closed = new CompletableFuture<>();

    Handle(KafkaProducer<String, SpecificRecord> producer, int generation) {
      this.producer = producer;
      this.generation = generation;
    }
  }

  private final AvroProducerFactory factory;
  private final GatewayConfig config;
  private final AtomicReference<Handle> current = new AtomicReference<>();
  private final AtomicInteger generations = new AtomicInteger();
  private final AtomicInteger retirements = new AtomicInteger();
  private final ThreadPoolExecutor sendPool;
  private final ScheduledThreadPoolExecutor watchdog;
  private final ExecutorService closer;
  private final long watchdogMillis;
  private final long maxQueueWaitNanos;
  private volatile boolean closed;

  public FeedbackEventPublisher(AvroProducerFactory factory, GatewayConfig config) {
    this.factory = factory;
    this.config = config;
    this.sendPool =
        new ThreadPoolExecutor(
            config.getSendThreads(),
            config.getSendThreads(),
            60,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(config.getSendQueue()),
            daemon("gateway-send"));
    this.sendPool.allowCoreThreadTimeOut(true);
    this.watchdog = new ScheduledThreadPoolExecutor(1, daemon("gateway-watchdog"));
    this.watchdog.setRemoveOnCancelPolicy(true);
    this.closer = Executors.newSingleThreadExecutor(daemon("gateway-producer-closer"));
    this.watchdogMillis =
        config.getDeliveryTimeout().plus(config.getMaxBlock()).plusSeconds(1).toMillis();
    this.maxQueueWaitNanos = config.getMaxBlock().toNanos();
  }

  /** The producer settings the gateway insists on (over {@code flywheel.kafka.properties}). */
  Map<String, Object> producerOverrides() {
    return Map.of(
        ProducerConfig.ACKS_CONFIG,
        "all",
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
        true,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
        (int) config.getDeliveryTimeout().toMillis(),
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
        (int) config.effectiveRequestTimeout().toMillis(),
        ProducerConfig.MAX_BLOCK_MS_CONFIG,
        config.getMaxBlock().toMillis(),
        ProducerConfig.LINGER_MS_CONFIG,
        (int) config.getLinger().toMillis());
  }

  /**
   * Sends {@code event}; the future completes with the broker's acknowledgement ({@code acks=all})
   * or fails with {@link KafkaUnavailableException} (nothing written, retry later), or another
   * exception.
   */
  public CompletableFuture<RecordMetadata> publish(String topic, String key, SpecificRecord event) {
    CompletableFuture<RecordMetadata> outcome = new CompletableFuture<>();
    if (closed) {
      outcome.completeExceptionally(
          new KafkaUnavailableException("the gateway is shutting down", null));
      return outcome;
    }
    long queuedAt = System.nanoTime();
    try {
      sendPool.execute(() -> send(new ProducerRecord<>(topic, key, event), outcome, queuedAt));
    } catch (RejectedExecutionException e) {
      outcome.completeExceptionally(
          new KafkaUnavailableException(
              "the gateway has " + config.getSendQueue() + " sends waiting; try again later", e));
    }
    return outcome;
  }

  private void send(
      ProducerRecord<String, SpecificRecord> record,
      CompletableFuture<RecordMetadata> outcome,
      long queuedAt) {
    if (System.nanoTime() - queuedAt > maxQueueWaitNanos) {
      outcome.completeExceptionally(
          new KafkaUnavailableException(
              "waited longer than max-block for a send thread (Kafka slow or unavailable)", null));
      return;
    }
    Handle handle;
    try {
      handle = handle();
    } catch (RuntimeException e) {
      outcome.completeExceptionally(
          new KafkaUnavailableException("cannot create a Kafka producer: " + e, e));
      return;
    }
    ScheduledFuture<?> timer =
        watchdog.schedule(
            () -> {
              if (!outcome.isDone()) {
                LOG.warn(
                    "no delivery callback {} ms after a send; retiring producer #{}",
                    watchdogMillis,
                    handle.generation);
                retire(handle, "watchdog")
                    .whenComplete(
                        (v, e) ->
                            outcome.completeExceptionally(
                                new KafkaUnavailableException(
                                    "no acknowledgement from Kafka in " + watchdogMillis + " ms",
                                    null)));
              }
            },
            watchdogMillis,
            TimeUnit.MILLISECONDS);
    outcome.whenComplete((m, e) -> timer.cancel(false));
    try {
      handle.producer.send(
          record,
          (metadata, error) -> {
            if (error == null) {
              outcome.complete(metadata);
            } else {
              if (!(error instanceof RecordTooLargeException
                  || error instanceof RecordBatchTooLargeException)) {
                retire(handle, error.toString());
              }
              outcome.completeExceptionally(classify(error));
            }
          });
    } catch (RuntimeException e) {
      // send() itself failed: metadata not available within max.block.ms, buffer full, the
      // serializer
      // could not reach the registry, or the producer was closed under us. Nothing was queued.
      if (e instanceof org.apache.kafka.common.errors.TimeoutException
          || e instanceof IllegalStateException) {
        retire(handle, e.toString());
      }
      outcome.completeExceptionally(classify(e));
    }
  }

  private static Throwable classify(Throwable error) {
    if (error instanceof RecordTooLargeException || error instanceof RecordBatchTooLargeException) {
      return error;
    }
    if (error instanceof AvroSerdeException serde
        && serde.problem() != AvroSerdeException.Problem.REGISTRY_ERROR) {
      return error; // a schema problem, not an outage: a 500
    }
    return new KafkaUnavailableException(
        "Kafka did not acknowledge the event: " + error.getMessage(), error);
  }

  private Handle handle() {
    Handle h = current.get();
    if (h != null) {
      return h;
    }
    synchronized (this) {
      h = current.get();
      if (h == null) {
        if (closed) {
          throw new IllegalStateException("closed");
        }
        int generation = generations.incrementAndGet();
        h =
            new Handle(
                factory.create("feedback-gateway-" + generation, producerOverrides()), generation);
        current.set(h);
        LOG.info("Kafka producer #{} created", generation);
      }
      return h;
    }
  }

  /**
   * Takes {@code handle} out of use (if it still is) and closes it with a zero timeout, which fails
   * every record still queued in it. The returned future completes once it is closed.
   */
  private CompletableFuture<Void> retire(Handle handle, String reason) {
    if (!current.compareAndSet(handle, null)) {
      return handle.closed; // already retired: its close is under way
    }
    retirements.incrementAndGet();
    LOG.warn(
        "retiring Kafka producer #{} after a failed delivery ({}); the next send uses a new one",
        handle.generation,
        reason);
    // not on the producer's own I/O thread (the callback's): close() must be able to join it
    Runnable close =
        () -> {
          try {
            handle.producer.close(Duration.ZERO);
          } catch (RuntimeException e) {
            LOG.warn("closing producer #{} failed", handle.generation, e);
          } finally {
            handle.closed.complete(null);
          }
        };
    try {
      closer.execute(close);
    } catch (RejectedExecutionException shuttingDown) {
      close.run();
    }
    return handle.closed;
  }

  /** How many producers were retired after failures (for tests and health). */
  public int retirements() {
    return retirements.get();
  }

  /** Generation of the live producer, 0 if none is open. */
  public int generation() {
    Handle h = current.get();
    return h == null ? 0 : h.generation;
  }

  @Override
  @PreDestroy
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    sendPool.shutdown();
    try {
      sendPool.awaitTermination(config.getMaxBlock().toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Handle h = current.getAndSet(null);
    if (h != null) {
      // give acknowledged-soon records their chance; whatever is left fails and gets its 503
      h.producer.close(config.getDeliveryTimeout());
    }
    watchdog.shutdownNow();
    closer.shutdown();
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
