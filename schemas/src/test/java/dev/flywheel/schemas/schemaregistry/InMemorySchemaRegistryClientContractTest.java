package dev.flywheel.schemas.schemaregistry;

/** The registry contract against {@link InMemorySchemaRegistryClient}, a fresh one per test. */
class InMemorySchemaRegistryClientContractTest extends SchemaRegistryClientContract {

  private final InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();

  @Override
  protected SchemaRegistryClient client() {
    return registry;
  }
}
