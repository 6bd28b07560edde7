package dev.flywheel.policy.service;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.schemas.DeadLetters;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.trainerkit.AcknowledgedSends;
import dev.flywheel.trainerkit.KafkaSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link InputFeed}'s dead letters: one producer to the dead-letter topic, and per input
 * partition a watermark — the input consumer's committed position — below which an earlier run
 * already dead-lettered what it could not use, so a restart does not send those letters again. The
 * feed moves a watermark only after every letter sent so far is acknowledged ({@link
 * #awaitAcknowledged}): a lost letter fails the loop before the commit, and its record is read and
 * dead-lettered again after the restart.
 */
final class DeadLetterWriter implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterWriter.class);

  private final String topic;
  private final PolicyTrainerStatus status;
  private final KafkaProducer<String, DeadLetter> producer;
  private final AcknowledgedSends<String, DeadLetter> sends;
  private final Map<TopicPartition, Long> watermark = new HashMap<>();

  DeadLetterWriter(KafkaSettings kafka, String topic, PolicyTrainerStatus status) {
    this.topic = topic;
    this.status = status;
    Map<String, Object> producerConfig = kafka.producerConfig(InputFeed.SERVICE + "-dead-letters");
    producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    AvroSerializer<DeadLetter> values = new AvroSerializer<>();
    values.configure(producerConfig, false);
    producer = new KafkaProducer<>(producerConfig, new StringSerializer(), values);
    sends = new AcknowledgedSends<>(producer);
  }

  /** Where an input partition's watermark starts: its committed position (0 when none). */
  void startAt(TopicPartition tp, long committed) {
    watermark.put(tp, committed);
  }

  /**
   * Sends the dead letter of {@code record} (unless an earlier run did): {@code errorType} and the
   * error's message as the reason, or an undecodable record's letter when {@code errorType} is
   * null.
   */
  void write(ConsumerRecord<String, byte[]> record, String errorType, Exception error) {
    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
    if (record.offset() < watermark.getOrDefault(tp, 0L)) {
      return; // dead-lettered by an earlier run
    }
    byte[] key = record.key() == null ? null : record.key().getBytes(StandardCharsets.UTF_8);
    DeadLetter letter =
        errorType == null
            ? DeadLetters.ofUndecodable(
                InputFeed.SERVICE,
                error,
                record.topic(),
                record.partition(),
                record.offset(),
                key,
                record.value())
            : DeadLetters.of(
                InputFeed.SERVICE,
                errorType,
                String.valueOf(error.getMessage()),
                record.topic(),
                record.partition(),
                record.offset(),
                key,
                record.value());
    LOG.warn(
        "dead-lettering {}-{}@{}: {}",
        record.topic(),
        record.partition(),
        record.offset(),
        letter.getReason());
    status.deadLettered();
    sends.send(
        new ProducerRecord<>(topic, record.key(), letter),
        "the dead letter of " + record.topic() + "-" + record.partition() + "@" + record.offset());
  }

  /** Moves {@code tp}'s watermark to {@code position} if that passes it; true when it moved. */
  boolean advance(TopicPartition tp, long position) {
    if (position > watermark.getOrDefault(tp, 0L)) {
      watermark.put(tp, position);
      return true;
    }
    return false;
  }

  /** Waits until every letter sent so far is acknowledged (throws if one was lost). */
  void awaitAcknowledged() {
    sends.awaitAcknowledged();
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }
}
