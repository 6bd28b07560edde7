package dev.flywheel.trainerkit;

import dev.flywheel.schemas.kafka.KafkaGuarantees;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Where the trainer's Kafka clients connect: the brokers, the Confluent-compatible schema registry,
 * and any extra client properties (security, timeouts) applied to every client the kit creates.
 *
 * <p>A Micronaut service builds it from the service kit's beans: {@code new
 * KafkaSettings(kafka.getBootstrapServers(), registry.getUrl(), kafka.getProperties())}.
 *
 * <p>The extra properties may not weaken the delivery guarantees the kit's clients rely on ({@link
 * KafkaGuarantees}): {@code acks} other than {@code all}/{@code -1}, {@code
 * enable.idempotence=false} or {@code isolation.level=read_uncommitted} is refused when the
 * settings are built, i.e. at the trainer's start-up, with a message naming the property.
 *
 * @param bootstrapServers {@code host:port,...}
 * @param registryUrl the registry's Confluent-compatible base URL (Apicurio: {@code
 *     .../apis/ccompat/v7})
 * @param clientProperties extra Kafka client properties, keys as Kafka spells them; may be empty
 * @throws IllegalArgumentException when a client property would weaken a delivery guarantee
 */
public record KafkaSettings(
    String bootstrapServers, String registryUrl, Map<String, String> clientProperties) {

  /** How a refused client property is named in the error: Kafka's own key after this. */
  static final String CLIENT_PROPERTY_PREFIX = "Kafka client property ";

  public KafkaSettings {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(registryUrl, "registryUrl");
    clientProperties = clientProperties == null ? Map.of() : Map.copyOf(clientProperties);
    KafkaGuarantees.requireClientGuarantees(CLIENT_PROPERTY_PREFIX, clientProperties);
  }

  public KafkaSettings(String bootstrapServers, String registryUrl) {
    this(bootstrapServers, registryUrl, Map.of());
  }

  /**
   * Base consumer settings (new mutable map): brokers, registry, {@code read_committed}, no auto
   * commit, {@code earliest}; {@code groupId} may be null for a group-less (assign-only) consumer.
   * Add deserializers or pass instances.
   */
  public Map<String, Object> consumerConfig(String clientId, String groupId) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    if (groupId != null) {
      config.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    }
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registryUrl);
    config.putAll(clientProperties);
    return config;
  }

  /** Base producer settings (new mutable map): brokers, registry, {@code acks=all}, idempotence. */
  public Map<String, Object> producerConfig(String clientId) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registryUrl);
    config.putAll(clientProperties);
    return config;
  }

  /** A record-value deserializer for {@code type} against this registry (specific records). */
  public <T extends org.apache.avro.specific.SpecificRecord>
      dev.flywheel.schemas.serde.AvroDeserializer<T> valueDeserializer(Class<T> type) {
    dev.flywheel.schemas.serde.AvroDeserializer<T> d =
        new dev.flywheel.schemas.serde.AvroDeserializer<>();
    d.configure(
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL, registryUrl, AvroSerdeConfig.SPECIFIC_TYPE, type),
        false);
    return d;
  }
}
