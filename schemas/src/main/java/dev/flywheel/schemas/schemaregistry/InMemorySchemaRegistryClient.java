package dev.flywheel.schemas.schemaregistry;

import dev.flywheel.schemas.SchemaEvolution;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;

/**
 * A schema registry inside the JVM, for tests that need serdes but no real registry (a Kafka
 * Streams {@code TopologyTestDriver}, a serde unit test). It answers like the Confluent-compatible
 * registry the services use (Confluent Schema Registry, Apicurio's ccompat API); the contract test
 * {@code SchemaRegistryClientContract} runs the same assertions against this class and against the
 * real registry.
 *
 * <ul>
 *   <li><b>Ids</b> are global, assigned 1, 2, 3, ... in registration order, one per distinct schema
 *       text ({@link Schema#toString()}, the text {@link HttpSchemaRegistryClient} sends). A schema
 *       registered twice under a subject keeps its id and adds no version; the same schema under a
 *       second subject gets the id it already has (Confluent: "If the same schema is registered
 *       under a different subject, the same identifier will be returned"; Apicurio's ccompat API
 *       answers with the content id, also one per distinct content).
 *   <li><b>Versions</b> are numbered 1, 2, ... per subject.
 *   <li><b>Compatibility</b> is always BACKWARD, the level the project's registry runs with (and
 *       Confluent's default): a new schema must read data written with the subject's latest
 *       version, checked with Avro's {@link org.apache.avro.SchemaCompatibility} (through {@link
 *       SchemaEvolution#backwardIncompatibilities}). A refused registration throws {@link
 *       IncompatibleSchemaException} (HTTP status 409). There are no other levels, no per-subject
 *       settings and no transitive checks.
 *   <li><b>Not found</b>: an unknown id or subject throws a {@link SchemaRegistryException} with
 *       status 404 and Confluent's error codes ({@link SchemaRegistryException#SCHEMA_NOT_FOUND},
 *       {@link SchemaRegistryException#SUBJECT_NOT_FOUND}); {@link #lookup} answers empty.
 * </ul>
 *
 * <p>Each instance is its own registry (ids start at 1 in each); share one instance between the
 * serializers and deserializers of a test, e.g. through {@link
 * dev.flywheel.schemas.serde.AvroSerdeConfig#SCHEMA_REGISTRY_CLIENT}. Thread-safe.
 */
public final class InMemorySchemaRegistryClient implements SchemaRegistryClient {

  private static final AtomicInteger INSTANCES = new AtomicInteger();

  private final String name = "in-memory:" + INSTANCES.incrementAndGet();
  private final Map<String, Integer> idsByText = new HashMap<>();
  private final Map<Integer, String> textsById = new HashMap<>();

  /** Per subject, its versions' ids, version 1 first. */
  private final Map<String, List<Integer>> versionsBySubject = new LinkedHashMap<>();

  @Override
  public String baseUrl() {
    return name;
  }

  @Override
  public synchronized int register(String subject, Schema schema) {
    String text = schema.toString();
    List<Integer> versions = versionsBySubject.get(subject);
    Integer known = idsByText.get(text);
    if (versions != null && known != null && versions.contains(known)) {
      return known;
    }
    if (versions != null && !versions.isEmpty()) {
      List<String> problems = incompatibilities(versions, schema);
      if (!problems.isEmpty()) {
        throw new IncompatibleSchemaException(
            subject, "BACKWARD: " + String.join("; ", problems), 409);
      }
    }
    int id = known != null ? known : idsByText.size() + 1;
    idsByText.putIfAbsent(text, id);
    textsById.putIfAbsent(id, text);
    versionsBySubject.computeIfAbsent(subject, s -> new ArrayList<>()).add(id);
    return id;
  }

  @Override
  public synchronized Optional<Integer> lookup(String subject, Schema schema) {
    List<Integer> versions = versionsBySubject.get(subject);
    Integer id = idsByText.get(schema.toString());
    return versions != null && id != null && versions.contains(id)
        ? Optional.of(id)
        : Optional.empty();
  }

  @Override
  public Schema schemaById(int id) {
    String text;
    synchronized (this) {
      text = textsById.get(id);
    }
    if (text == null) {
      throw new SchemaRegistryException(
          "schema registry " + name + " has no schema with id " + id,
          404,
          SchemaRegistryException.SCHEMA_NOT_FOUND);
    }
    // a parsed copy, as a reader of the real registry gets: callers never share the registrant's
    // object
    return new Schema.Parser().parse(text);
  }

  @Override
  public synchronized CompatibilityResult testCompatibility(String subject, Schema schema) {
    List<Integer> versions = versionsBySubject.get(subject);
    if (versions == null || versions.isEmpty()) {
      return new CompatibilityResult(true, List.of("subject has no versions yet"));
    }
    List<String> problems = incompatibilities(versions, schema);
    return new CompatibilityResult(problems.isEmpty(), problems);
  }

  @Override
  public synchronized List<Integer> versions(String subject) {
    List<Integer> versions = versionsBySubject.get(subject);
    if (versions == null) {
      throw new SchemaRegistryException(
          "schema registry " + name + " has no subject '" + subject + "'",
          404,
          SchemaRegistryException.SUBJECT_NOT_FOUND);
    }
    List<Integer> numbers = new ArrayList<>();
    for (int v = 1; v <= versions.size(); v++) {
      numbers.add(v);
    }
    return numbers;
  }

  /** BACKWARD against the latest version: why {@code schema} cannot read what it wrote. */
  private List<String> incompatibilities(List<Integer> versions, Schema schema) {
    Schema latest = new Schema.Parser().parse(textsById.get(versions.get(versions.size() - 1)));
    return SchemaEvolution.backwardIncompatibilities(schema, latest);
  }

  @Override
  public String toString() {
    return "InMemorySchemaRegistryClient[" + name + "]";
  }
}
