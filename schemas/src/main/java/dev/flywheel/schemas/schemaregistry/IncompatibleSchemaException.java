package dev.flywheel.schemas.schemaregistry;

/** The registry refused a schema (HTTP 409) because it breaks the subject's compatibility rule. */
public class IncompatibleSchemaException extends SchemaRegistryException {

  private final String subject;

  public IncompatibleSchemaException(String subject, String registryMessage, int errorCode) {
    super(
        "schema for subject '"
            + subject
            + "' is incompatible with its earlier versions: "
            + registryMessage,
        409,
        errorCode);
    this.subject = subject;
  }

  public String subject() {
    return subject;
  }
}
