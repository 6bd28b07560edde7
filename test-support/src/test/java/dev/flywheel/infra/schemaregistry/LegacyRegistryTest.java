package dev.flywheel.infra.schemaregistry;

import static dev.flywheel.infra.schemaregistry.SchemaRegistryServerTest.get;
import static dev.flywheel.infra.schemaregistry.SchemaRegistryServerTest.register;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.infra.support.Processes;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java 17 fallback (Apicurio Registry 2.x). Off by default: the first run fetches the archive
 * with mvn. Run with {@code mvn -pl test-support -am verify -Dtest=LegacyRegistryTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dflywheel.test.legacy-registry=true}.
 */
@EnabledIfSystemProperty(named = "flywheel.test.legacy-registry", matches = "true")
class LegacyRegistryTest {

  private static final String V1 =
      "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\","
          + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";
  private static final String INCOMPATIBLE =
      "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\","
          + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"int\"}]}";

  @Test
  void legacyRegistryRunsOnTheCurrentJavaAndEnforcesBackward(@TempDir Path dir) throws Exception {
    RegistryDistribution legacy =
        RegistryDistribution.resolve(RegistryDistribution.LEGACY_VERSION, Processes.currentJava());
    assertTrue(legacy.legacy());
    try (SchemaRegistryServer registry =
        SchemaRegistryServer.builder().distribution(legacy).dataDirectory(dir).start()) {
      assertEquals(200, get(registry.url() + "/subjects").statusCode());
      assertEquals("BACKWARD", registry.globalCompatibility());
      assertEquals(200, register(registry.url(), "legacy-value", V1).statusCode());
      assertEquals(409, register(registry.url(), "legacy-value", INCOMPATIBLE).statusCode());
      registry.stop();
      registry.start();
      assertEquals("[1]", get(registry.url() + "/subjects/legacy-value/versions").body());
      assertEquals("BACKWARD", registry.globalCompatibility());
    }
  }
}
