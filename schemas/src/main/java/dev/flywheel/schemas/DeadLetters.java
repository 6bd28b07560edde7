package dev.flywheel.schemas;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.schemas.serde.WireFormat;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.OptionalInt;
import java.util.UUID;

/** Builds {@link DeadLetter} records: the reason, where the input was read, and its raw bytes. */
public final class DeadLetters {

  private DeadLetters() {}

  public static DeadLetter of(
      String service,
      String errorType,
      String reason,
      String sourceTopic,
      int sourcePartition,
      long sourceOffset,
      byte[] rawKey,
      byte[] rawValue) {
    OptionalInt schemaId = WireFormat.schemaId(rawValue);
    return DeadLetter.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(Instant.now())
        .setService(service)
        .setErrorType(errorType)
        .setReason(reason)
        .setSourceTopic(sourceTopic)
        .setSourcePartition(sourcePartition)
        .setSourceOffset(sourceOffset)
        .setSchemaId(schemaId.isPresent() ? schemaId.getAsInt() : null)
        .setRawKey(rawKey == null ? null : ByteBuffer.wrap(rawKey))
        .setRawValue(rawValue == null ? null : ByteBuffer.wrap(rawValue))
        .build();
  }

  /** A dead letter for a record that failed to deserialise, typed by the serde's problem. */
  public static DeadLetter ofUndecodable(
      String service,
      Throwable error,
      String sourceTopic,
      int sourcePartition,
      long sourceOffset,
      byte[] rawKey,
      byte[] rawValue) {
    String errorType =
        error instanceof AvroSerdeException avro ? avro.problem().name() : "UNDECODABLE";
    return of(
        service,
        errorType,
        String.valueOf(error.getMessage()),
        sourceTopic,
        sourcePartition,
        sourceOffset,
        rawKey,
        rawValue);
  }
}
