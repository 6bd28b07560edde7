package dev.flywheel.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/**
 * A record could not be (de)serialised. {@link #problem()} says why in a form a consumer can put on
 * a dead letter; it is a Kafka {@link SerializationException} so Kafka's handlers see it as such.
 */
public class AvroSerdeException extends SerializationException {

  /** What went wrong. */
  public enum Problem {
    /** Shorter than the 5-byte header (magic byte + schema id). */
    TRUNCATED_HEADER,
    /** First byte is not the Confluent magic byte 0: not our wire format. */
    UNKNOWN_MAGIC_BYTE,
    /** The registry knows no schema with the id in the header. */
    UNKNOWN_SCHEMA_ID,
    /** The Avro body ended early, had trailing bytes, or held invalid data for its schema. */
    MALFORMED_PAYLOAD,
    /** The writer schema cannot be read as the expected reader schema. */
    INCOMPATIBLE_SCHEMA,
    /** The schema registry could not be reached or answered an error. */
    REGISTRY_ERROR,
    /** Serialising: the schema is not registered and auto-registration is off, or was refused. */
    SCHEMA_NOT_REGISTERED
  }

  private final Problem problem;
  private final String topic;
  private final Integer schemaId;

  public AvroSerdeException(
      Problem problem, String topic, Integer schemaId, String message, Throwable cause) {
    super(
        problem
            + " on topic '"
            + topic
            + "'"
            + (schemaId == null ? "" : " (schema id " + schemaId + ")")
            + ": "
            + message,
        cause);
    this.problem = problem;
    this.topic = topic;
    this.schemaId = schemaId;
  }

  /**
   * Whether the failure is the registry's, not the record's: the record must be read again once the
   * registry is back, never dead-lettered or skipped.
   */
  public boolean isRegistryOutage() {
    return problem == Problem.REGISTRY_ERROR;
  }

  /**
   * Whether {@code t} is an {@link AvroSerdeException} that {@link #isRegistryOutage() is a
   * registry outage}.
   */
  public static boolean isRegistryOutage(Throwable t) {
    return t instanceof AvroSerdeException e && e.isRegistryOutage();
  }

  public Problem problem() {
    return problem;
  }

  public String topic() {
    return topic;
  }

  /** The schema id from the record header, or null when the header was unreadable. */
  public Integer schemaId() {
    return schemaId;
  }
}
