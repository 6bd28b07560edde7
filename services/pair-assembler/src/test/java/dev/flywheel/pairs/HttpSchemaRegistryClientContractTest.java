package dev.flywheel.pairs;

import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClientContract;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The registry contract of {@code schemas} against the real registry the project starts (Apicurio,
 * ccompat API), through {@link HttpSchemaRegistryClient}: the same assertions {@code
 * InMemorySchemaRegistryClientContractTest} makes of the in-memory registry, which this module's
 * topology tests run on. It lives here because the schemas module cannot start the real registry
 * (the launcher is in infra, which depends on schemas) and this module's tests are the ones that
 * trust the in-memory registry. Each call of {@link #client()} is a new client, so answers come
 * from the registry, not from a cache.
 */
@ExtendWith(FlywheelInfraExtension.class)
class HttpSchemaRegistryClientContractTest extends SchemaRegistryClientContract {

  private static String url;

  @BeforeAll
  static void registry(FlywheelInfra infra) {
    url = infra.registryUrl();
  }

  @Override
  protected SchemaRegistryClient client() {
    return new HttpSchemaRegistryClient(url);
  }
}
