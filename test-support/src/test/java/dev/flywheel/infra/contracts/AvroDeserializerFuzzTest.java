package dev.flywheel.infra.contracts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroLimits;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.schemas.serde.AvroSerdeException.Problem;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.testing.Fuzz;
import dev.flywheel.testing.Gen;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Property-based tests of {@link AvroDeserializer} against the real registry, for every contract in
 * the catalogue (tries per property in CI; {@code -Dflywheel.fuzz.scale=100} for a long run, see
 * {@link Fuzz}):
 *
 * <ul>
 *   <li>bytes after a valid magic byte and a registered schema id — random, a valid record mutated
 *       or cut, or a valid prefix followed by a forged length of up to 2^63 — either read as a
 *       record or fail with {@link AvroSerdeException} {@code MALFORMED_PAYLOAD}, never anything
 *       else; and one call allocates at most {@link #MAX_ALLOCATION} bytes, whatever length the
 *       bytes declare ({@link AvroLimits}: without the bounds a forged 200 MB string allocates 200
 *       MB);
 *   <li>arbitrary bytes are one of the typed problems, never an untyped exception;
 *   <li>valid records drawn from each schema (any Unicode text, NUL included, every long and
 *       double, empty and long collections, absent optionals) round-trip through the Confluent wire
 *       format unchanged.
 * </ul>
 */
@ExtendWith(FlywheelInfraExtension.class)
class AvroDeserializerFuzzTest {

  /**
   * Most bytes one deserialize call may allocate: the largest string or bytes field Avro may
   * declare ({@link AvroLimits#DEFAULT_MAX_LENGTH}, 16 MiB) twice (its bytes and the decoded text),
   * plus room for a few collections of {@link AvroLimits#DEFAULT_MAX_ITEMS} references.
   */
  static final long MAX_ALLOCATION = 2L * AvroLimits.DEFAULT_MAX_LENGTH + 32L * 1024 * 1024;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private static SchemaRegistryClient registry;

  /** A valid encoded sample (header included) per catalogue topic. */
  private static final Map<TopicSpec<?>, byte[]> samples = new LinkedHashMap<>();

  @BeforeAll
  static void register(FlywheelInfra infra) {
    registry = new HttpSchemaRegistryClient(infra.registryUrl());
    AvroSerializer<SpecificRecord> serializer = new AvroSerializer<>(registry, true);
    ContractSamples.all()
        .forEach((topic, sample) -> samples.put(topic, serializer.serialize(topic.name(), sample)));
    assertEquals(Topics.ALL.size(), samples.size());
  }

  /** A record's bytes after the header, as the fuzzer changed them. */
  record Forged(TopicSpec<?> topic, boolean specific, byte[] bytes, String how) {
    @Override
    public String toString() {
      return topic.name()
          + (specific ? " (specific)" : " (generic)")
          + ", "
          + how
          + ": "
          + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 512));
    }
  }

  @Test
  void bytesAfterAValidHeaderAreARecordOrAMalformedPayloadWithinBoundedMemory() {
    Map<String, Integer> outcomes =
        Fuzz.check(
            "garbage after a valid header",
            600,
            this::forge,
            Forged::toString,
            forged -> {
              AvroDeserializer<?> deserializer =
                  new AvroDeserializer<>(
                      registry, forged.specific() ? forged.topic().valueType() : null);
              long before = THREADS.getCurrentThreadAllocatedBytes();
              try {
                deserializer.deserialize(forged.topic().name(), forged.bytes());
                return "read";
              } catch (AvroSerdeException e) {
                assertEquals(Problem.MALFORMED_PAYLOAD, e.problem(), e::toString);
                return "malformed";
              } finally {
                long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                assertTrue(
                    allocated <= MAX_ALLOCATION, "one call allocated " + allocated + " bytes");
              }
            });
    assertTrue(
        outcomes.getOrDefault("malformed", 0) > 0 && outcomes.getOrDefault("read", 0) > 0,
        outcomes::toString);
  }

  @Test
  void arbitraryBytesAreATypedProblem() {
    Set<Problem> expected =
        Set.of(
            Problem.TRUNCATED_HEADER,
            Problem.UNKNOWN_MAGIC_BYTE,
            Problem.UNKNOWN_SCHEMA_ID,
            Problem.MALFORMED_PAYLOAD,
            Problem.INCOMPATIBLE_SCHEMA);
    Map<String, Integer> outcomes =
        Fuzz.check(
            "arbitrary bytes",
            200,
            gen -> {
              byte[] bytes = gen.bytes(40);
              if (bytes.length > 0 && gen.chance(0.3)) {
                bytes[0] = 0; // the magic byte, so that the schema id is looked up
              }
              return bytes;
            },
            HexFormat.of()::formatHex,
            bytes -> {
              try {
                new AvroDeserializer<>(registry, Topics.FEEDBACK_RANKINGS.valueType())
                    .deserialize("fuzz", bytes);
                return bytes == null ? "null" : "read";
              } catch (AvroSerdeException e) {
                assertTrue(expected.contains(e.problem()), e::toString);
                return e.problem().name();
              }
            });
    assertTrue(
        outcomes.containsKey("UNKNOWN_MAGIC_BYTE") && outcomes.containsKey("TRUNCATED_HEADER"),
        outcomes::toString);
  }

  @Test
  void validRecordsRoundTrip() {
    AvroSerializer<SpecificRecord> serializer = new AvroSerializer<>(registry, true);
    List<TopicSpec<?>> topics = new ArrayList<>(samples.keySet());
    Map<String, Integer> outcomes =
        Fuzz.check(
            "valid records round-trip",
            400,
            gen -> {
              TopicSpec<?> topic = gen.pick(topics);
              return (SpecificRecord) value(gen, topic.valueSchema(), 2);
            },
            record -> {
              String topic =
                  Topics.ALL.stream()
                      .filter(t -> t.valueType() == record.getClass())
                      .findFirst()
                      .orElseThrow()
                      .name();
              byte[] bytes = serializer.serialize(topic, record);
              SpecificRecord back =
                  (SpecificRecord)
                      new AvroDeserializer<>(registry, record.getClass()).deserialize(topic, bytes);
              // compared as encodings and as text: Avro's record equality says NaN != NaN
              assertArrayEquals(bytes, serializer.serialize(topic, back));
              assertEquals(record.toString(), back.toString());
              return record.getSchema().getName();
            });
    assertEquals(Topics.ALL.size(), outcomes.size(), "every contract drawn: " + outcomes);
  }

  // ------------------------------------------------------------------------------------------
  // forging

  private Forged forge(Gen gen) {
    TopicSpec<?> topic = gen.pick(new ArrayList<>(samples.keySet()));
    byte[] valid = samples.get(topic);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(valid, 0, 5); // magic byte and the registered schema id
    String how;
    switch (gen.between(0, 3)) {
      case 0 -> {
        out.writeBytes(gen.bytes(64));
        how = "random body";
      }
      case 1 -> {
        byte[] body = java.util.Arrays.copyOfRange(valid, 5, valid.length);
        int flips = gen.between(1, 4);
        for (int i = 0; i < flips && body.length > 0; i++) {
          body[gen.between(0, body.length - 1)] = (byte) gen.between(0, 255);
        }
        out.writeBytes(body);
        how = flips + " bytes changed";
      }
      case 2 -> {
        int cut = gen.between(0, valid.length - 6);
        out.write(valid, 5, cut);
        how = "cut after " + cut + " bytes";
      }
      default -> {
        // a valid prefix, then a forged length or count where the reader expects one
        int prefix = gen.between(0, valid.length - 5);
        out.write(valid, 5, prefix);
        long declared =
            gen.oneOf(
                200L << 20,
                (long) Integer.MAX_VALUE,
                (long) AvroLimits.DEFAULT_MAX_LENGTH + 1,
                Long.MAX_VALUE,
                -1L,
                Long.MIN_VALUE,
                (long) gen.between(1, 1 << 24));
        writeVarLong(out, declared);
        out.writeBytes(gen.bytes(8));
        how = "prefix " + prefix + " then length " + declared;
      }
    }
    return new Forged(topic, gen.chance(0.7), out.toByteArray(), how);
  }

  /** Avro's zig-zag variable-length long. */
  private static void writeVarLong(ByteArrayOutputStream out, long value) {
    long n = (value << 1) ^ (value >> 63);
    while ((n & ~0x7FL) != 0) {
      out.write((int) ((n & 0x7F) | 0x80));
      n >>>= 7;
    }
    out.write((int) n);
  }

  // ------------------------------------------------------------------------------------------
  // valid values

  /**
   * A valid value of {@code schema} as the generated classes hold it (collections at most {@code
   * depth} deep).
   */
  static Object value(Gen gen, Schema schema, int depth) {
    if (schema.getLogicalType() instanceof LogicalTypes.TimestampMillis) {
      return Instant.ofEpochMilli(gen.chance(0.2) ? gen.anyLong() : gen.nextLong() >> 22);
    }
    return switch (schema.getType()) {
      case RECORD -> {
        SpecificRecord record = (SpecificRecord) SpecificData.get().newRecord(null, schema);
        for (Schema.Field field : schema.getFields()) {
          record.put(field.pos(), value(gen, field.schema(), depth));
        }
        yield record;
      }
      case UNION -> {
        List<Schema> branches = schema.getTypes();
        yield value(gen, branches.get(gen.between(0, branches.size() - 1)), depth);
      }
      case NULL -> null;
      case STRING -> avroText(gen);
      case BYTES -> ByteBuffer.wrap(gen.bytes(32));
      case INT -> (int) gen.anyLong();
      case LONG -> gen.anyLong();
      case DOUBLE ->
          gen.oneOf(
              0.0,
              -0.0,
              1.5,
              Double.MAX_VALUE,
              Double.MIN_VALUE,
              Double.NaN,
              Double.NEGATIVE_INFINITY,
              gen.nextDouble() * 1e6);
      case FLOAT -> (float) gen.nextDouble();
      case BOOLEAN -> gen.chance(0.5);
      case ENUM -> SpecificData.get().createEnum(gen.pick(schema.getEnumSymbols()), schema);
      case ARRAY ->
          gen.list(0, depth > 0 ? 12 : 0, () -> value(gen, schema.getElementType(), depth - 1));
      case MAP -> {
        Map<String, Object> map = new HashMap<>();
        int n = gen.length(0, depth > 0 ? 6 : 0);
        for (int i = 0; i < n; i++) {
          map.put(avroText(gen), value(gen, schema.getValueType(), depth - 1));
        }
        yield map;
      }
      default -> throw new IllegalArgumentException("no generator for " + schema);
    };
  }

  /**
   * Any text Avro can carry: everything {@link Gen#text} draws but lone surrogates (UTF-8 cannot
   * encode them).
   */
  private static String avroText(Gen gen) {
    String text = gen.text(200);
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        out.append(c).append(text.charAt(++i));
      } else {
        out.append(Character.isSurrogate(c) ? '\uFFFD' : c);
      }
    }
    return out.toString();
  }
}
