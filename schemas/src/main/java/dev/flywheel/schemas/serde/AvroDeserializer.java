package dev.flywheel.schemas.serde;

import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.AvroTypeException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads the Confluent wire format into a generated class (schema resolution from the writer's
 * schema, fetched by id, to the class's schema) or, with no class, into a GenericRecord with the
 * writer's schema. Every failure is an {@link AvroSerdeException} naming the problem. Thread-safe.
 */
public class AvroDeserializer<T> implements Deserializer<T> {

  static {
    AvroLimits
        .applyDefaults(); // before the first read: a garbage length prefix must not allocate it
  }

  private SchemaRegistryClient registry;
  private Schema readerSchema;

  /** Readers resolve writer to reader schema once per schema id; they are thread-safe. */
  private final Map<Integer, DatumReader<T>> readersById = new ConcurrentHashMap<>();

  private Class<T> type;

  /** For Kafka's reflective construction; {@link #configure} must follow. */
  public AvroDeserializer() {}

  /** Reads into {@code type}, a generated Avro class; {@code null} reads GenericRecords. */
  public AvroDeserializer(SchemaRegistryClient registry, Class<T> type) {
    this.registry = registry;
    setType(type);
  }

  @Override
  @SuppressWarnings("unchecked")
  public void configure(Map<String, ?> configs, boolean isKey) {
    if (registry == null) {
      registry = AvroSerdeConfig.clientFor(configs);
    }
    Object maxLength = configs.get(AvroSerdeConfig.MAX_LENGTH);
    Object maxItems = configs.get(AvroSerdeConfig.MAX_ITEMS);
    if (maxLength != null || maxItems != null) {
      AvroLimits.apply(
          maxLength == null
              ? AvroLimits.DEFAULT_MAX_LENGTH
              : Integer.parseInt(maxLength.toString()),
          maxItems == null ? AvroLimits.DEFAULT_MAX_ITEMS : Integer.parseInt(maxItems.toString()),
          true);
    }
    Object typeName = configs.get(AvroSerdeConfig.SPECIFIC_TYPE);
    if (type == null && typeName != null) {
      try {
        setType(
            (Class<T>) (typeName instanceof Class<?> c ? c : Class.forName(typeName.toString())));
      } catch (ClassNotFoundException e) {
        throw new IllegalArgumentException(
            "no Avro class " + typeName + " for " + AvroSerdeConfig.SPECIFIC_TYPE, e);
      }
    }
  }

  private void setType(Class<T> type) {
    this.type = type;
    this.readerSchema = type == null ? null : SpecificData.get().getSchema(type);
  }

  @Override
  public T deserialize(String topic, byte[] bytes) {
    if (bytes == null) {
      return null;
    }
    if (bytes.length < WireFormat.HEADER_SIZE) {
      throw new AvroSerdeException(
          AvroSerdeException.Problem.TRUNCATED_HEADER,
          topic,
          null,
          "record is "
              + bytes.length
              + " bytes, shorter than the "
              + WireFormat.HEADER_SIZE
              + "-byte header (magic byte + schema id)",
          null);
    }
    if (bytes[0] != WireFormat.MAGIC_BYTE) {
      throw new AvroSerdeException(
          AvroSerdeException.Problem.UNKNOWN_MAGIC_BYTE,
          topic,
          null,
          String.format(
              "first byte is 0x%02x, expected magic byte 0x00 of the Confluent wire format",
              bytes[0]),
          null);
    }
    int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
    Schema writerSchema = writerSchema(topic, id);
    DatumReader<T> reader = readersById.get(id);
    if (reader == null) {
      reader = reader(topic, id, writerSchema);
      readersById.putIfAbsent(id, reader);
    }
    BinaryDecoder decoder =
        DecoderFactory.get()
            .binaryDecoder(
                bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null);
    T value;
    try {
      value = reader.read(null, decoder);
      if (!decoder.isEnd()) {
        throw new AvroSerdeException(
            AvroSerdeException.Problem.MALFORMED_PAYLOAD,
            topic,
            id,
            "trailing bytes after a complete " + writerSchema.getFullName() + " record",
            null);
      }
    } catch (EOFException e) {
      throw new AvroSerdeException(
          AvroSerdeException.Problem.MALFORMED_PAYLOAD,
          topic,
          id,
          "payload ended before a complete "
              + writerSchema.getFullName()
              + " record was read (truncated?)",
          e);
    } catch (IOException
        | AvroRuntimeException
        | IndexOutOfBoundsException
        | NegativeArraySizeException
        | ClassCastException
        | IllegalArgumentException
        | UnsupportedOperationException e) {
      throw new AvroSerdeException(
          AvroSerdeException.Problem.MALFORMED_PAYLOAD,
          topic,
          id,
          "payload is not a valid " + writerSchema.getFullName() + " record: " + e,
          e);
    } catch (OutOfMemoryError e) {
      // a declared length within the limits that the heap still cannot hold (AvroLimits bounds the
      // rest;
      // with -XX:+ExitOnOutOfMemoryError this is never reached)
      throw new AvroSerdeException(
          AvroSerdeException.Problem.MALFORMED_PAYLOAD,
          topic,
          id,
          "payload declares an impossible length",
          null);
    }
    return value;
  }

  private Schema writerSchema(String topic, int id) {
    try {
      return registry.schemaById(id);
    } catch (SchemaRegistryException e) {
      if (e.isNotFound()) {
        throw new AvroSerdeException(
            AvroSerdeException.Problem.UNKNOWN_SCHEMA_ID,
            topic,
            id,
            "the registry at " + registry.baseUrl() + " has no schema with id " + id,
            e);
      }
      throw new AvroSerdeException(
          AvroSerdeException.Problem.REGISTRY_ERROR, topic, id, e.getMessage(), e);
    }
  }

  private DatumReader<T> reader(String topic, int id, Schema writerSchema) {
    if (readerSchema == null) {
      return new GenericDatumReader<>(writerSchema);
    }
    try {
      return new SpecificDatumReader<>(writerSchema, readerSchema);
    } catch (AvroTypeException e) {
      throw new AvroSerdeException(
          AvroSerdeException.Problem.INCOMPATIBLE_SCHEMA,
          topic,
          id,
          "writer schema cannot be read as " + readerSchema.getFullName() + ": " + e.getMessage(),
          e);
    }
  }
}
