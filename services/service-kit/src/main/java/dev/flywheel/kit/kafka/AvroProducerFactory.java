package dev.flywheel.kit.kafka;

import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Creates producers of string keys and Avro values (Confluent wire format, our serializer).
 * Settings, each overriding the one before: durable defaults ({@code acks=all}, idempotence) &lt;
 * {@code flywheel.kafka.properties} &lt; the caller's {@code overrides}.
 */
@Singleton
public class AvroProducerFactory {

  private final KafkaProperties kafka;
  private final RegistryProperties registry;

  public AvroProducerFactory(KafkaProperties kafka, RegistryProperties registry) {
    this.kafka = kafka;
    this.registry = registry;
  }

  /** The complete producer configuration, for inspection or for building a producer elsewhere. */
  public Map<String, Object> producerConfig(String clientId, Map<String, ?> overrides) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers());
    config.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.getUrl());
    config.put(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, registry.isAutoRegister());
    config.putAll(kafka.getProperties());
    config.putAll(overrides);
    return config;
  }

  public <V extends SpecificRecord> KafkaProducer<String, V> create(
      String clientId, Map<String, ?> overrides) {
    Map<String, Object> config = producerConfig(clientId, overrides);
    AvroSerializer<V> values = new AvroSerializer<>();
    values.configure(config, false);
    return new KafkaProducer<>(config, new StringSerializer(), values);
  }
}
