package dev.flywheel.infra.schemaregistry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(FlywheelInfraExtension.class)
class SchemaRegistryServerTest {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String V1 =
      "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\","
          + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";

  /** Adds a field without default: new readers cannot read old data, so BACKWARD rejects it. */
  private static final String INCOMPATIBLE =
      "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\","
          + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"int\"}]}";

  /** Adds a field with a default: BACKWARD compatible. */
  private static final String COMPATIBLE =
      "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\","
          + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"int\",\"default\":0}]}";

  @Test
  void answersAndRejectsAnIncompatibleSchemaWith409(FlywheelInfra infra) throws Exception {
    String url = infra.registryUrl();
    assertThat(url).matches("http://127\\.0\\.0\\.1:\\d+/apis/ccompat/v7");
    assertEquals(200, get(url + "/subjects").statusCode());
    assertThat(get(url + "/config").body()).contains("BACKWARD");

    String subject = infra.uniqueName("thing") + "-value";
    HttpResponse<String> first = register(url, subject, V1);
    assertEquals(200, first.statusCode(), first.body());
    assertThat(first.body()).matches("\\{\"id\":\\d+}");

    HttpResponse<String> incompatible = register(url, subject, INCOMPATIBLE);
    assertEquals(409, incompatible.statusCode(), incompatible.body());

    HttpResponse<String> compatible = register(url, subject, COMPATIBLE);
    assertEquals(200, compatible.statusCode(), compatible.body());
    assertThat(get(url + "/subjects/" + subject + "/versions").body()).isEqualTo("[1,2]");
  }

  @Test
  void keepsSchemasAcrossRestartsWithADataDirectory(@TempDir Path dir) throws Exception {
    try (SchemaRegistryServer registry =
        SchemaRegistryServer.builder().dataDirectory(dir).start()) {
      assertTrue(registry.persistent(), "Apicurio 3.x with a data directory persists");
      HttpResponse<String> first = register(registry.url(), "kept-value", V1);
      assertEquals(200, first.statusCode(), first.body());
      String url = registry.url();
      registry.stop();
      registry.start();
      assertEquals(url, registry.url(), "same port after restart");
      HttpResponse<String> versions = get(url + "/subjects/kept-value/versions");
      assertEquals(200, versions.statusCode(), versions.body());
      assertEquals("[1]", versions.body());
      assertEquals(first.body(), register(url, "kept-value", V1).body(), "same id after restart");
      assertEquals(409, register(url, "kept-value", INCOMPATIBLE).statusCode());
    }
  }

  static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> register(String url, String subject, String schema) throws Exception {
    String body = "{\"schema\":" + quote(schema) + "}";
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url + "/subjects/" + subject + "/versions"))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
