/**
 * Schema registry clients: the {@link dev.flywheel.schemas.schemaregistry.SchemaRegistryClient}
 * interface the Avro serdes ({@code dev.flywheel.schemas.serde}) and the services use, and two
 * implementations.
 *
 * <ul>
 *   <li>{@link dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient}: the Confluent REST
 *       API v7 (Confluent Schema Registry, Apicurio's {@code /apis/ccompat/v7}, Karapace,
 *       Redpanda), with ids and schemas cached. Every service uses it, configured by URL ({@code
 *       flywheel.registry.url}, serde config {@code schema.registry.url}).
 *   <li>{@link dev.flywheel.schemas.schemaregistry.InMemorySchemaRegistryClient}: a registry inside
 *       the JVM for tests that need serdes but not a real registry, e.g. a Kafka Streams {@code
 *       TopologyTestDriver}. Ids are global and assigned 1, 2, 3, ...; one id per distinct schema,
 *       the same under every subject; versions per subject; compatibility always BACKWARD against
 *       the latest version, checked with Avro's {@code SchemaCompatibility}. Hand it to a serde's
 *       constructor, or, where Kafka instantiates the serde (or a Streams exception handler) from
 *       configuration, put the instance under {@link
 *       dev.flywheel.schemas.serde.AvroSerdeConfig#SCHEMA_REGISTRY_CLIENT} ({@code
 *       flywheel.avro.registry-client}), which takes precedence over {@code schema.registry.url}.
 * </ul>
 *
 * <p>The test class {@code SchemaRegistryClientContract} (in this module's tests, shipped in its
 * test-jar) holds both to the same behaviour: ids, versions, lookups, not-found errors, BACKWARD
 * compatibility and a serde round trip. {@code InMemorySchemaRegistryClientContractTest} runs it
 * here; {@code services/pair-assembler}'s {@code HttpSchemaRegistryClientContractTest} runs it
 * against the real registry (Apicurio) the tests start, which this module cannot start itself (its
 * launcher is in {@code infra}, which depends on this module). A behaviour added to the in-memory
 * client belongs in the contract, so that the real registry confirms it.
 *
 * <p>What the in-memory client does not do: compatibility levels other than BACKWARD (none,
 * transitive, per subject), schema references, deletion, non-Avro schemas, outages. A test of any
 * of those needs the real registry ({@code FlywheelInfraExtension}, and {@code RegistryProxy} for
 * outages).
 */
package dev.flywheel.schemas.schemaregistry;
