package dev.flywheel.trainerkit;

import dev.flywheel.schemas.serde.AvroSerializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.ToLongFunction;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes version events to a compacted versions topic, keyed by the version number as a decimal
 * string, with {@code acks=all} and idempotence. Every method is synchronous: it returns only once
 * the broker has acknowledged (or the transaction has committed), and throws {@link
 * PublishException} otherwise.
 *
 * <h2>Two modes</h2>
 *
 * <ul>
 *   <li><b>Transactional</b> ({@code transactionalId} given; what the trainers use): {@link
 *       #publish(List, Map, ConsumerGroupMetadata)} writes the events of one version AND commits
 *       the consumer offsets of the input it trained on in ONE Kafka transaction ({@code
 *       sendOffsetsToTransaction}). After a crash either both are visible or neither is, so a
 *       restarted trainer (reading {@code read_committed}) resumes exactly after the input of the
 *       last published version: no input is skipped and no version number is published twice.
 *       Creating the publisher calls {@code initTransactions()}, which fences any older producer
 *       with the same id (a zombie trainer) and aborts its open transaction: create it BEFORE
 *       loading the {@link VersionLedger}. One transactional id per logical trainer (e.g. {@code
 *       reward-trainer}).
 *   <li><b>Plain</b> ({@code transactionalId} null): each event is sent and waited for; no offsets.
 *       For tools and for events that do not consume input.
 * </ul>
 *
 * <p>A {@link ProducerFencedException} (another instance took over) is fatal: the publisher closes
 * itself and every later call fails. Not thread-safe: one trainer thread publishes.
 *
 * @param <V> the generated Avro class of the topic's values
 */
public final class VersionPublisher<V extends SpecificRecord> implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(VersionPublisher.class);

  /** The broker did not acknowledge, the transaction aborted, or the publisher was fenced. */
  public static final class PublishException extends Exception {
    private final boolean fatal;

    PublishException(String message, Throwable cause, boolean fatal) {
      super(message, cause);
      this.fatal = fatal;
    }

    /** True if the publisher is unusable (fenced, closed): the trainer must stop. */
    public boolean isFatal() {
      return fatal;
    }
  }

  private final Producer<String, V> producer;
  private final String topic;
  private final ToLongFunction<V> versionOf;
  private final boolean transactional;
  private final Duration timeout;
  private boolean closed;

  /**
   * Wraps an existing producer (tests); {@code transactional} says whether it has a transactional
   * id.
   */
  public VersionPublisher(
      Producer<String, V> producer,
      String topic,
      ToLongFunction<V> versionOf,
      boolean transactional,
      Duration timeout) {
    this.producer = Objects.requireNonNull(producer, "producer");
    this.topic = Objects.requireNonNull(topic, "topic");
    this.versionOf = Objects.requireNonNull(versionOf, "versionOf");
    this.transactional = transactional;
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  /**
   * A publisher with its own producer. With a {@code transactionalId} it runs {@code
   * initTransactions} (blocking up to {@code timeout}).
   *
   * @param transactionalId stable id of the logical trainer, or null for the plain mode
   */
  public static <V extends SpecificRecord> VersionPublisher<V> create(
      KafkaSettings kafka,
      String topic,
      ToLongFunction<V> versionOf,
      String transactionalId,
      Duration timeout) {
    Map<String, Object> config =
        kafka.producerConfig(
            "version-publisher-" + (transactionalId == null ? topic : transactionalId));
    config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ms);
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Math.max(ms, 1000));
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.max(ms / 2, 500));
    if (transactionalId != null) {
      config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    }
    AvroSerializer<V> values = new AvroSerializer<>();
    values.configure(config, false);
    KafkaProducer<String, V> producer = new KafkaProducer<>(config, new StringSerializer(), values);
    if (transactionalId != null) {
      try {
        producer.initTransactions();
      } catch (RuntimeException e) {
        producer.close(Duration.ZERO);
        throw e;
      }
    }
    return new VersionPublisher<>(producer, topic, versionOf, transactionalId != null, timeout);
  }

  public boolean isTransactional() {
    return transactional;
  }

  /** Publishes one event (in its own transaction in transactional mode, without offsets). */
  public RecordMetadata publish(V event) throws PublishException {
    return publish(List.of(event), Map.of(), null).get(0);
  }

  /**
   * Publishes {@code events} in order (e.g. CANDIDATE then LIVE of one version) and, in
   * transactional mode, commits {@code offsets} for {@code group} in the same transaction.
   *
   * @param offsets next offsets to consume per input partition (what the consumer would commit);
   *     must be empty in plain mode
   * @param group the input consumer's {@code groupMetadata()} (or {@code new
   *     ConsumerGroupMetadata(groupId)} for an assign-only consumer); needed only when {@code
   *     offsets} is not empty
   * @return the broker's metadata for each event, in order
   */
  public List<RecordMetadata> publish(
      List<V> events, Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group)
      throws PublishException {
    if (closed) {
      throw new PublishException("publisher is closed", null, true);
    }
    if (!transactional && !offsets.isEmpty()) {
      throw new IllegalArgumentException(
          "committing offsets with a version needs a transactional publisher");
    }
    if (!offsets.isEmpty() && group == null) {
      throw new IllegalArgumentException("offsets without consumer group metadata");
    }
    return transactional ? publishTransaction(events, offsets, group) : publishPlain(events);
  }

  private List<RecordMetadata> publishPlain(List<V> events) throws PublishException {
    List<Future<RecordMetadata>> futures = new ArrayList<>();
    try {
      for (V event : events) {
        futures.add(producer.send(record(event)));
      }
      List<RecordMetadata> out = new ArrayList<>();
      long deadline = System.nanoTime() + timeout.toNanos();
      for (Future<RecordMetadata> f : futures) {
        out.add(f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PublishException("interrupted while waiting for the broker", e, false);
    } catch (ExecutionException e) {
      throw new PublishException(
          "broker refused a version event: " + e.getCause(), e.getCause(), false);
    } catch (TimeoutException e) {
      throw new PublishException("no acknowledgement within " + timeout, e, false);
    } catch (RuntimeException e) {
      throw new PublishException("cannot send a version event: " + e, e, false);
    }
  }

  private List<RecordMetadata> publishTransaction(
      List<V> events, Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group)
      throws PublishException {
    List<Future<RecordMetadata>> futures = new ArrayList<>();
    try {
      producer.beginTransaction();
      for (V event : events) {
        futures.add(producer.send(record(event)));
      }
      if (!offsets.isEmpty()) {
        producer.sendOffsetsToTransaction(offsets, group);
      }
      producer.commitTransaction(); // flushes; throws if any send failed
      List<RecordMetadata> out = new ArrayList<>();
      for (Future<RecordMetadata> f : futures) {
        out.add(f.get(0, TimeUnit.MILLISECONDS));
      }
      return out;
    } catch (KafkaException | ExecutionException | TimeoutException e) {
      boolean fatal = isFatal(e);
      if (!fatal) {
        abort();
      }
      if (fatal || closed) {
        LOG.error("version publisher for {} is fenced or unusable; closing it", topic, e);
        close();
        throw new PublishException(
            "fenced: another producer with this transactional id took over, or the "
                + "producer failed fatally ("
                + e
                + ")",
            e,
            true);
      }
      throw new PublishException("transaction aborted: " + e, e, false);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      abort();
      throw new PublishException("interrupted", e, closed);
    }
  }

  /**
   * Errors after which the producer cannot continue (Kafka's "fatal" and "abortable-but-fenced"
   * kinds).
   */
  private static boolean isFatal(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ProducerFencedException
          || t instanceof InvalidProducerEpochException
          || t instanceof OutOfOrderSequenceException
          || t instanceof AuthorizationException
          || t instanceof UnsupportedVersionException
          || t instanceof IllegalStateException) {
        return true;
      }
    }
    return false;
  }

  private void abort() {
    try {
      producer.abortTransaction();
    } catch (RuntimeException e) {
      LOG.warn(
          "could not abort the transaction on {} ({}); closing the publisher", topic, e.toString());
      close();
    }
  }

  private ProducerRecord<String, V> record(V event) {
    return new ProducerRecord<>(topic, Long.toString(versionOf.applyAsLong(event)), event);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      producer.close(timeout);
    }
  }
}
