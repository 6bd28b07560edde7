package dev.flywheel.rollout;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.schemas.DeadLetters;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.trainerkit.KafkaSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's loop: poll one request at a time from the group's share of {@code
 * training.rollout-requests}, answer it, publish the batch ({@code acks=all}, waited for), and only
 * then commit the request's offset. A worker that dies between the poll and the commit loses
 * nothing: the group gives the partition to another member, which answers the request again (the
 * learner keeps the first batch per request id). A request past its deadline is skipped (the
 * learner re-issues it); one that cannot be answered (invalid field, missing weights, SHA-256
 * mismatch, undecodable) goes to the dead letters with the reason, and is committed.
 */
final class RolloutWorker implements Runnable {

  static final String SERVICE = "rollout-worker";
  private static final Logger LOG = LoggerFactory.getLogger(RolloutWorker.class);

  private final KafkaSettings kafka;
  private final RolloutWorkerConfig config;
  private final Answerer answerer;
  private final RolloutWorkerMeters meters;
  private volatile boolean stopping;
  private volatile KafkaConsumer<String, byte[]> consumer;

  RolloutWorker(
      KafkaSettings kafka,
      RolloutWorkerConfig config,
      Answerer answerer,
      RolloutWorkerMeters meters) {
    this.kafka = kafka;
    this.config = config;
    this.answerer = answerer;
    this.meters = meters;
  }

  /** What turns a request into its batch ({@link RolloutAnswerer}). */
  interface Answerer {
    /**
     * @throws IOException when a model it names cannot be loaded
     * @throws IllegalArgumentException when the request is invalid (the field named)
     */
    RolloutBatch answer(RolloutRequest request) throws IOException;
  }

  @Override
  public void run() {
    Map<String, Object> consumerConfig =
        kafka.consumerConfig(SERVICE + "-" + config.getWorkerId(), config.getGroupId());
    consumerConfig.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
    consumerConfig.put(
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) config.getMaxPollInterval().toMillis());
    AvroDeserializer<RolloutRequest> requests = kafka.valueDeserializer(RolloutRequest.class);
    Map<String, Object> producerConfig = kafka.producerConfig(SERVICE + "-" + config.getWorkerId());
    AvroSerializer<SpecificRecord> values = new AvroSerializer<>();
    values.configure(producerConfig, false);
    try (KafkaConsumer<String, byte[]> c =
            new KafkaConsumer<>(
                consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<String, SpecificRecord> producer =
            new KafkaProducer<>(producerConfig, new StringSerializer(), values)) {
      consumer = c;
      c.subscribe(List.of(config.getRequestsTopic()));
      meters.running(true);
      while (!stopping) {
        for (ConsumerRecord<String, byte[]> record : c.poll(config.getPollTimeout())) {
          meters.busy(true);
          handle(record, requests, producer);
          c.commitSync(
              Map.of(
                  new TopicPartition(record.topic(), record.partition()),
                  new OffsetAndMetadata(record.offset() + 1)));
          meters.busy(false);
        }
      }
    } catch (WakeupException e) {
      if (!stopping) {
        throw e;
      }
    } finally {
      meters.running(false);
      meters.busy(false);
      consumer = null;
    }
  }

  /** Stops the loop at its next poll (a request in progress finishes and is committed first). */
  void stop() {
    stopping = true;
    KafkaConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
  }

  private void handle(
      ConsumerRecord<String, byte[]> record,
      AvroDeserializer<RolloutRequest> requests,
      KafkaProducer<String, SpecificRecord> producer) {
    RolloutRequest request;
    try {
      request = requests.deserialize(record.topic(), record.value());
    } catch (RuntimeException e) {
      deadLetter(
          producer,
          record.key(),
          DeadLetters.ofUndecodable(
              SERVICE,
              e,
              record.topic(),
              record.partition(),
              record.offset(),
              bytes(record.key()),
              record.value()));
      return;
    }
    if (request.getDeadline().isBefore(Instant.now())) {
      LOG.info(
          "request {} (learner {} step {}) is past its deadline {}: skipped, the learner re-issues it",
          request.getRequestId(),
          request.getLearnerId(),
          request.getLearnerStep(),
          request.getDeadline());
      meters.expired();
      return;
    }
    RolloutBatch batch;
    try {
      batch = answerer.answer(request);
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("request {} cannot be answered: {}", request.getRequestId(), e.getMessage());
      deadLetter(
          producer,
          record.key(),
          DeadLetters.of(
              SERVICE,
              e instanceof IOException ? "MODEL_UNAVAILABLE" : "INVALID_REQUEST",
              e.getMessage(),
              record.topic(),
              record.partition(),
              record.offset(),
              bytes(record.key()),
              record.value()));
      return;
    }
    send(producer, new ProducerRecord<>(config.getBatchesTopic(), batch.getRequestId(), batch));
    meters.answered(batch);
    LOG.debug(
        "request {} answered: {} samples, {} tokens, generation {} ms, scoring {} ms, load {} ms",
        batch.getRequestId(),
        batch.getSamples().size(),
        batch.getGeneratedTokens(),
        batch.getGenerationMillis(),
        batch.getScoringMillis(),
        batch.getLoadMillis());
  }

  private void deadLetter(
      KafkaProducer<String, SpecificRecord> producer, String key, DeadLetter letter) {
    send(producer, new ProducerRecord<>(config.getDeadLettersTopic(), key, letter));
    meters.deadLettered(letter.getErrorType());
  }

  private static void send(
      KafkaProducer<String, SpecificRecord> producer,
      ProducerRecord<String, SpecificRecord> record) {
    try {
      producer.send(record).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while publishing to " + record.topic(), e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("publishing to " + record.topic() + " failed", e.getCause());
    }
  }

  private static byte[] bytes(String key) {
    return key == null ? null : key.getBytes(StandardCharsets.UTF_8);
  }
}
