package dev.flywheel.schemas.schemaregistry;

import java.util.List;
import java.util.Optional;
import org.apache.avro.Schema;

/**
 * The schema registry operations the serdes and the services use, with the semantics of a
 * Confluent-compatible registry (Confluent Schema Registry, Apicurio's ccompat API): one global id
 * per schema, the same for every subject that holds it; numbered versions per subject; a subject's
 * compatibility rule checked on registration.
 *
 * <p>Two implementations: {@link HttpSchemaRegistryClient}, the REST client every service uses
 * (configured by URL), and {@link InMemorySchemaRegistryClient}, a registry inside the JVM for
 * tests that need no real one (a {@code TopologyTestDriver}, a serde unit test). A contract test
 * runs the same assertions against both, so the in-memory one follows the real registry.
 *
 * <p>Failures are {@link SchemaRegistryException}s ({@link SchemaRegistryException#isNotFound()}
 * for an unknown id or subject, {@link SchemaRegistryException#isUnreachable()} when the registry
 * cannot be reached) and {@link IncompatibleSchemaException} when the subject's rule refuses a
 * schema. Implementations are thread-safe.
 */
public interface SchemaRegistryClient {

  /** Where the registry is, for messages: the HTTP base URL, or {@code in-memory:<n>}. */
  String baseUrl();

  /**
   * Registers {@code schema} under {@code subject} and returns its global id. A schema the subject
   * already holds (as any of its versions) returns that id and adds no version; a new one becomes
   * the subject's next version if the subject's compatibility rule accepts it.
   *
   * @throws IncompatibleSchemaException when the compatibility rule refuses it (HTTP 409)
   */
  int register(String subject, Schema schema);

  /**
   * The id of {@code schema} if {@code subject} already holds it; empty when it does not (also when
   * the subject does not exist, or holds it only under another subject).
   */
  Optional<Integer> lookup(String subject, Schema schema);

  /**
   * The schema with global id {@code id}; throws with {@link SchemaRegistryException#isNotFound()}.
   */
  Schema schemaById(int id);

  /**
   * Would {@code schema} be accepted as the next version of {@code subject}? A subject without
   * versions accepts anything.
   */
  CompatibilityResult testCompatibility(String subject, Schema schema);

  /**
   * The subject's version numbers, oldest first; throws with {@link
   * SchemaRegistryException#isNotFound()} for an unknown subject.
   */
  List<Integer> versions(String subject);

  /** Verdict of a compatibility check, with the registry's explanation. */
  record CompatibilityResult(boolean compatible, List<String> messages) {}
}
