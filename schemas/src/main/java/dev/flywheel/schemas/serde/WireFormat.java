package dev.flywheel.schemas.serde;

import java.nio.ByteBuffer;
import java.util.OptionalInt;

/**
 * The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro
 * binary encoding of the value.
 */
public final class WireFormat {

  public static final byte MAGIC_BYTE = 0;
  public static final int HEADER_SIZE = 5;

  private WireFormat() {}

  /** The schema id in the header, if {@code bytes} starts with a well-formed header. */
  public static OptionalInt schemaId(byte[] bytes) {
    if (bytes == null || bytes.length < HEADER_SIZE || bytes[0] != MAGIC_BYTE) {
      return OptionalInt.empty();
    }
    return OptionalInt.of(ByteBuffer.wrap(bytes, 1, 4).getInt());
  }

  static byte[] header(int schemaId) {
    return ByteBuffer.allocate(HEADER_SIZE).put(MAGIC_BYTE).putInt(schemaId).array();
  }
}
