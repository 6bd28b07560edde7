package dev.flywheel.schemas.serde;

import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.topics.TopicSpec;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** A Kafka (Streams) {@link Serde} for one generated Avro class in the Confluent wire format. */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T> {

  private final AvroSerializer<T> serializer;
  private final AvroDeserializer<T> deserializer;

  public AvroSerde(SchemaRegistryClient registry, Class<T> type, boolean autoRegister) {
    this.serializer = new AvroSerializer<>(registry, autoRegister);
    this.deserializer = new AvroDeserializer<>(registry, type);
  }

  /** Value serde for a catalogue topic, auto-registering its schema. */
  public static <V extends SpecificRecord> AvroSerde<V> forTopic(
      SchemaRegistryClient registry, TopicSpec<V> topic) {
    return new AvroSerde<>(registry, topic.valueType(), true);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    serializer.configure(configs, isKey);
    deserializer.configure(configs, isKey);
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }
}
