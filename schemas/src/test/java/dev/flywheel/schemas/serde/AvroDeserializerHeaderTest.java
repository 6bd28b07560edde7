package dev.flywheel.schemas.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.HumanRanking;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * Header checks that fail before any registry call; the registry is a closed port on purpose, so a
 * test that reached it would fail with REGISTRY_ERROR instead. Registry-backed cases live in infra.
 */
class AvroDeserializerHeaderTest {

  private final AvroDeserializer<HumanRanking> deserializer =
      new AvroDeserializer<>(
          new HttpSchemaRegistryClient("http://127.0.0.1:9"), HumanRanking.class);

  @Test
  void nullStaysNull() {
    assertEquals(null, deserializer.deserialize("t", null));
  }

  @Test
  void shortRecordIsATruncatedHeader() {
    AvroSerdeException e =
        assertThrows(
            AvroSerdeException.class, () -> deserializer.deserialize("t", new byte[] {0, 0, 1}));
    assertEquals(AvroSerdeException.Problem.TRUNCATED_HEADER, e.problem());
    assertTrue(e.getMessage().contains("3 bytes"), e.getMessage());
  }

  @Test
  void wrongMagicByteIsNamed() {
    AvroSerdeException e =
        assertThrows(
            AvroSerdeException.class,
            () -> deserializer.deserialize("t", "{\"json\":true}".getBytes()));
    assertEquals(AvroSerdeException.Problem.UNKNOWN_MAGIC_BYTE, e.problem());
    assertTrue(e.getMessage().contains("0x7b"), e.getMessage());
  }

  @Test
  void unreachableRegistryIsARegistryError() {
    AvroSerdeException e =
        assertThrows(
            AvroSerdeException.class,
            () -> deserializer.deserialize("t", new byte[] {0, 0, 0, 0, 42, 2}));
    assertEquals(AvroSerdeException.Problem.REGISTRY_ERROR, e.problem());
    assertEquals(42, e.schemaId());
  }

  @Test
  void schemaIdIsReadBigEndian() {
    assertEquals(OptionalInt.of(0x01020304), WireFormat.schemaId(new byte[] {0, 1, 2, 3, 4}));
    assertEquals(OptionalInt.empty(), WireFormat.schemaId(new byte[] {1, 1, 2, 3, 4}));
  }
}
