package dev.flywheel.feedback.client;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * For apps that produce feedback to Kafka directly instead of through the gateway: validates each
 * event with {@link FeedbackRules}, then writes it to its catalogue topic, keyed as the catalogue
 * says, with the platform's Avro serde ({@code acks=all}, idempotent). Thread-safe; one per app.
 *
 * <p>The gateway's duplicate suppression does not apply here: resend with the same event id, and
 * consumers de-duplicate by it.
 */
public final class FeedbackProducer implements AutoCloseable {

  private final Producer<String, SpecificRecord> producer;
  private final FeedbackRules.Limits limits;

  public FeedbackProducer(Producer<String, SpecificRecord> producer, FeedbackRules.Limits limits) {
    this.producer = producer;
    this.limits = limits;
  }

  /** A producer to {@code bootstrapServers}, registering schemas at {@code registryUrl}. */
  public static FeedbackProducer create(String bootstrapServers, String registryUrl) {
    return create(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrapServers,
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            registryUrl),
        FeedbackRules.Limits.DEFAULT);
  }

  /**
   * {@code config}: any Kafka producer settings plus {@code schema.registry.url}; durable defaults
   * apply.
   */
  public static FeedbackProducer create(Map<String, ?> config, FeedbackRules.Limits limits) {
    Map<String, Object> all = new LinkedHashMap<>();
    all.put(ProducerConfig.ACKS_CONFIG, "all");
    all.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    all.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    all.putAll(config);
    AvroSerializer<SpecificRecord> values = new AvroSerializer<>();
    values.configure(all, false);
    return new FeedbackProducer(new KafkaProducer<>(all, new StringSerializer(), values), limits);
  }

  public CompletableFuture<RecordMetadata> send(ChatTranscript transcript) {
    FeedbackRules.validate(transcript, limits, Instant.now());
    return publish(transcript);
  }

  public CompletableFuture<RecordMetadata> send(HumanRanking ranking) {
    FeedbackRules.validate(ranking, limits, Instant.now());
    return publish(ranking);
  }

  public CompletableFuture<RecordMetadata> send(Demonstration demonstration) {
    FeedbackRules.validate(demonstration, limits, Instant.now());
    return publish(demonstration);
  }

  private CompletableFuture<RecordMetadata> publish(SpecificRecord event) {
    CompletableFuture<RecordMetadata> result = new CompletableFuture<>();
    ProducerRecord<String, SpecificRecord> record =
        new ProducerRecord<>(
            FeedbackTopics.topicOf(event).name(), FeedbackTopics.keyOf(event), event);
    try {
      producer.send(
          record,
          (metadata, error) -> {
            if (error != null) {
              result.completeExceptionally(error);
            } else {
              result.complete(metadata);
            }
          });
    } catch (RuntimeException e) {
      result.completeExceptionally(e);
    }
    return result;
  }

  public void flush() {
    producer.flush();
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(30));
  }
}
