package dev.flywheel.reward;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.schemas.DeadLetters;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.trainerkit.AcknowledgedSends;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the records {@link RewardInputLog}'s consumer polls from {@code training.comparisons} into
 * {@link EncodedGroup}s, and that is its one job: decoding and encoding each record, dead-lettering
 * the undecodable and invalid ones of new input, and rewinding and waiting through a
 * schema-registry outage. Where a group goes once read is the input log's business.
 */
final class ComparisonGroupReader {

  private static final Logger LOG = LoggerFactory.getLogger(ComparisonGroupReader.class);

  /** Retry interval while the schema registry is unavailable. */
  private static final Duration REGISTRY_RETRY = Duration.ofSeconds(2);

  private final RewardTrainerConfig config;
  private final RewardTrainerStats stats;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final AvroDeserializer<ComparisonGroup> deserializer;
  private final GroupEncoder encoder;
  private final AcknowledgedSends<String, DeadLetter> deadLetters;
  private final BooleanSupplier running;

  /** Where {@link #poll} hands each group it read. */
  interface Sink {
    /**
     * @param history whether the record lies before the committed offsets (already inside a
     *     published version)
     */
    void accept(EncodedGroup group, boolean history);
  }

  ComparisonGroupReader(
      RewardTrainerConfig config,
      RewardTrainerStats stats,
      KafkaConsumer<byte[], byte[]> consumer,
      AvroDeserializer<ComparisonGroup> deserializer,
      GroupEncoder encoder,
      AcknowledgedSends<String, DeadLetter> deadLetters,
      BooleanSupplier running) {
    this.config = config;
    this.stats = stats;
    this.consumer = consumer;
    this.deserializer = deserializer;
    this.encoder = encoder;
    this.deadLetters = deadLetters;
    this.running = running;
  }

  /**
   * Reads and ingests what is there. A registry outage is not bad input: the batch stops at the
   * record that could not be decoded, every partition of the batch is rewound to its first record
   * not ingested, and the trainer waits {@code REGISTRY_RETRY} before reading again. Nothing is
   * dead-lettered or skipped, and the offsets a round commits never pass a record that was not
   * ingested.
   *
   * @param history whether a record lies before the committed offsets: a bad one is not
   *     dead-lettered again
   * @param sink takes each group read, in the batch's order
   */
  void poll(Predicate<ConsumerRecord<byte[], byte[]>> history, Sink sink) {
    List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
    consumer.poll(Duration.ofMillis(200)).forEach(batch::add);
    for (int i = 0; i < batch.size(); i++) {
      try {
        ingest(batch.get(i), history, sink);
      } catch (RegistryUnavailable e) {
        Map<TopicPartition, Long> rewind = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batch.subList(i, batch.size())) {
          rewind.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
        }
        rewind.forEach(consumer::seek);
        stats.registryOutages.incrementAndGet();
        LOG.warn(
            "schema registry unavailable ({}); re-reading from {} in {}",
            e.getCause().getMessage(),
            rewind,
            REGISTRY_RETRY);
        sleepWhileRunning(REGISTRY_RETRY);
        return;
      }
    }
  }

  /** The registry could not be asked for a record's schema: transient, the record is read again. */
  private static final class RegistryUnavailable extends RuntimeException {
    RegistryUnavailable(RuntimeException cause) {
      super(cause);
    }
  }

  private void sleepWhileRunning(Duration d) {
    long until = System.nanoTime() + d.toNanos();
    while (running.getAsBoolean() && System.nanoTime() < until) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void ingest(
      ConsumerRecord<byte[], byte[]> r,
      Predicate<ConsumerRecord<byte[], byte[]>> isHistory,
      Sink sink) {
    boolean history = isHistory.test(r);
    ComparisonGroup group;
    try {
      group = deserializer.deserialize(r.topic(), r.value());
      if (group == null) {
        throw new IllegalArgumentException("null value (tombstone) on " + r.topic());
      }
    } catch (RuntimeException e) {
      if (AvroSerdeException.isRegistryOutage(e)) {
        throw new RegistryUnavailable(e);
      }
      if (!history) {
        deadLetter(
            DeadLetters.ofUndecodable(
                RewardTrainer.SOURCE, e, r.topic(), r.partition(), r.offset(), r.key(), r.value()));
      }
      return;
    }
    EncodedGroup encoded;
    try {
      encoded = encoder.encode(group, r.partition(), r.offset());
    } catch (GroupEncoder.InvalidGroupException e) {
      if (!history) {
        deadLetter(
            DeadLetters.of(
                RewardTrainer.SOURCE,
                "INVALID_GROUP",
                e.getMessage(),
                r.topic(),
                r.partition(),
                r.offset(),
                r.key(),
                r.value()));
      }
      return;
    }
    sink.accept(encoded, history);
  }

  private void deadLetter(DeadLetter letter) {
    stats.deadLetters.incrementAndGet();
    LOG.warn(
        "dead letter {}-{}@{}: {} {}",
        letter.getSourceTopic(),
        letter.getSourcePartition(),
        letter.getSourceOffset(),
        letter.getErrorType(),
        letter.getReason());
    String key =
        letter.getRawKey() == null
            ? null
            : StandardCharsets.UTF_8.decode(letter.getRawKey().duplicate()).toString();
    deadLetters.send(
        new ProducerRecord<>(config.getDeadLettersTopic(), key, letter),
        "the dead letter of "
            + letter.getSourceTopic()
            + "-"
            + letter.getSourcePartition()
            + "@"
            + letter.getSourceOffset());
  }
}
