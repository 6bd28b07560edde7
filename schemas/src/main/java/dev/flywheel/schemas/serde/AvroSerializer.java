package dev.flywheel.schemas.serde;

import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes Avro records (generated or generic) in the Confluent wire format, under the
 * TopicNameStrategy subject {@code <topic>-value} (or {@code -key}). Thread-safe.
 */
public class AvroSerializer<T extends GenericContainer> implements Serializer<T> {

  private SchemaRegistryClient registry;
  private boolean autoRegister = true;
  private boolean isKey;

  /** For Kafka's reflective construction; {@link #configure} must follow. */
  public AvroSerializer() {}

  public AvroSerializer(SchemaRegistryClient registry, boolean autoRegister) {
    this.registry = registry;
    this.autoRegister = autoRegister;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    if (registry == null) {
      registry = AvroSerdeConfig.clientFor(configs);
      autoRegister = AvroSerdeConfig.autoRegister(configs);
    }
  }

  @Override
  public byte[] serialize(String topic, T record) {
    if (record == null) {
      return null;
    }
    if (registry == null) {
      throw new IllegalStateException("AvroSerializer used before configure()");
    }
    Schema schema = record.getSchema();
    String subject = topic + (isKey ? "-key" : "-value");
    int id = schemaId(topic, subject, schema);
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.writeBytes(WireFormat.header(id));
    try {
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
      writer(record, schema).write(record, encoder);
      encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new AvroSerdeException(
          AvroSerdeException.Problem.MALFORMED_PAYLOAD,
          topic,
          id,
          "cannot encode " + schema.getFullName() + ": " + e.getMessage(),
          e);
    }
    return out.toByteArray();
  }

  private int schemaId(String topic, String subject, Schema schema) {
    try {
      if (autoRegister) {
        return registry.register(subject, schema);
      }
      return registry
          .lookup(subject, schema)
          .orElseThrow(
              () ->
                  new AvroSerdeException(
                      AvroSerdeException.Problem.SCHEMA_NOT_REGISTERED,
                      topic,
                      null,
                      "schema "
                          + schema.getFullName()
                          + " is not registered under subject '"
                          + subject
                          + "' and auto.register.schemas is false",
                      null));
    } catch (SchemaRegistryException e) {
      AvroSerdeException.Problem problem =
          e.isUnreachable() || e.httpStatus() >= 500
              ? AvroSerdeException.Problem.REGISTRY_ERROR
              : AvroSerdeException.Problem.SCHEMA_NOT_REGISTERED;
      throw new AvroSerdeException(problem, topic, null, e.getMessage(), e);
    }
  }

  @SuppressWarnings("unchecked")
  private DatumWriter<T> writer(T record, Schema schema) {
    if (record instanceof SpecificRecord) {
      return new SpecificDatumWriter<>(schema);
    }
    return new GenericDatumWriter<>(schema);
  }
}
