package dev.flywheel.schemas.schemaregistry;

/** A schema registry request failed; carries the HTTP status and the registry's error code. */
public class SchemaRegistryException extends RuntimeException {

  /** Confluent error code for "schema not found" (GET /schemas/ids/{id}). */
  public static final int SCHEMA_NOT_FOUND = 40403;

  /** Confluent error code for "subject not found". */
  public static final int SUBJECT_NOT_FOUND = 40401;

  private final int httpStatus;
  private final int errorCode;

  public SchemaRegistryException(String message, int httpStatus, int errorCode) {
    super(message);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
  }

  public SchemaRegistryException(String message, Throwable cause) {
    super(message, cause);
    this.httpStatus = -1;
    this.errorCode = -1;
  }

  /** HTTP status, or -1 when the registry could not be reached. */
  public int httpStatus() {
    return httpStatus;
  }

  /** The registry's {@code error_code}, or -1 when absent. */
  public int errorCode() {
    return errorCode;
  }

  public boolean isNotFound() {
    return httpStatus == 404;
  }

  public boolean isUnreachable() {
    return httpStatus == -1;
  }
}
