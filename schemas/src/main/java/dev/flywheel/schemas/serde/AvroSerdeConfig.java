package dev.flywheel.schemas.serde;

import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Config keys the serializer and deserializer read (Confluent-compatible names where they exist).
 */
public final class AvroSerdeConfig {

  /**
   * Base URL of a Confluent-compatible registry, e.g. {@code http://host:8081} or Apicurio's
   * ccompat URL.
   */
  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";

  /**
   * A {@link SchemaRegistryClient} instance (not a class name) for the serde to use instead of an
   * {@link HttpSchemaRegistryClient} on {@link #SCHEMA_REGISTRY_URL}; when set, the URL is not
   * read. For tests: e.g. one {@link
   * dev.flywheel.schemas.schemaregistry.InMemorySchemaRegistryClient} shared by every serde of a
   * {@code TopologyTestDriver} (Kafka and Kafka Streams hand configuration values that are objects
   * to {@code configure} as they are).
   */
  public static final String SCHEMA_REGISTRY_CLIENT = "flywheel.avro.registry-client";

  /**
   * Register the writer schema on first use (default true). When false, it must already be
   * registered.
   */
  public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";

  /** Fully qualified generated class to read values (or keys) into; absent means GenericRecord. */
  public static final String SPECIFIC_TYPE = "flywheel.avro.specific.type";

  /**
   * Longest string or bytes field a record may declare (default {@link
   * AvroLimits#DEFAULT_MAX_LENGTH}).
   */
  public static final String MAX_LENGTH = "flywheel.avro.max-length";

  /** Most items an array or map may declare (default {@link AvroLimits#DEFAULT_MAX_ITEMS}). */
  public static final String MAX_ITEMS = "flywheel.avro.max-items";

  private static final Map<String, SchemaRegistryClient> CLIENTS = new ConcurrentHashMap<>();

  private AvroSerdeConfig() {}

  /**
   * The client instance of {@link #SCHEMA_REGISTRY_CLIENT} if there is one; else one {@link
   * HttpSchemaRegistryClient} (and so one cache) per registry URL per JVM, shared by every serde
   * configured with it.
   */
  static SchemaRegistryClient clientFor(Map<String, ?> configs) {
    Object client = configs.get(SCHEMA_REGISTRY_CLIENT);
    if (client != null) {
      if (client instanceof SchemaRegistryClient instance) {
        return instance;
      }
      throw new IllegalArgumentException(
          "serde config '"
              + SCHEMA_REGISTRY_CLIENT
              + "' must be a SchemaRegistryClient instance, not "
              + client.getClass().getName());
    }
    Object url = configs.get(SCHEMA_REGISTRY_URL);
    if (url == null || url.toString().isBlank()) {
      throw new IllegalArgumentException(
          "missing serde config '"
              + SCHEMA_REGISTRY_URL
              + "' (or '"
              + SCHEMA_REGISTRY_CLIENT
              + "')");
    }
    return CLIENTS.computeIfAbsent(url.toString(), HttpSchemaRegistryClient::new);
  }

  static boolean autoRegister(Map<String, ?> configs) {
    Object value = configs.get(AUTO_REGISTER_SCHEMAS);
    return value == null || Boolean.parseBoolean(value.toString());
  }
}
