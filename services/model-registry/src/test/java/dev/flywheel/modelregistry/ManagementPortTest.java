package dev.flywheel.modelregistry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * With {@code endpoints.all.port} set (as the Helm chart does), the management endpoints —
 * Prometheus metrics and health with its details — are served on that port only, and the API only
 * on the public port. Without it (the default: tests, the local platform) everything shares one
 * port, which the other test classes rely on.
 */
@ExtendWith(FlywheelInfraExtension.class)
class ManagementPortTest {

  static RegistryHarness registry;
  static int managementPort;

  @BeforeAll
  static void start(FlywheelInfra infra, @TempDir Path artifacts) {
    registry = new RegistryHarness(infra, artifacts);
    registry.publishStandardHistory();
    managementPort = freePort();
    registry.start(Map.of("endpoints.all.port", managementPort));
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  /** A port nothing listens on now (Micronaut needs a fixed management port, not 0 or -1). */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static HttpResponse<byte[]> management(String path) {
    return registry.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path))
            .GET()
            .build());
  }

  static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  void prometheusIsOnTheManagementPortAndNotOnThePublicOne() {
    assertNotEquals(managementPort, registry.server().getPort());
    HttpResponse<byte[]> metrics = management("/prometheus");
    assertEquals(200, metrics.statusCode(), text(metrics));
    assertTrue(
        text(metrics).contains("flywheel_registry_caught_up"),
        "registry metrics on the management port");

    HttpResponse<byte[]> publicMetrics = registry.get("/prometheus");
    assertEquals(404, publicMetrics.statusCode(), "the public port must not serve /prometheus");
    assertTrue(!text(publicMetrics).contains("flywheel_registry"), text(publicMetrics));
  }

  @Test
  void healthWithItsDetailsIsOnTheManagementPortOnly() {
    HttpResponse<byte[]> health = management("/health");
    assertEquals(200, health.statusCode(), text(health));
    JsonNode body = RegistryHarness.parse(health.body());
    assertEquals(
        "CAUGHT_UP",
        body.path("details").path("materializer").path("details").path("phase").asText(),
        "details are shown on the management port");
    for (String path : List.of("/health", "/health/readiness", "/health/liveness")) {
      assertEquals(404, registry.get(path).statusCode(), "public " + path);
    }
  }

  @Test
  void livenessNeedsNoKey() {
    HttpResponse<byte[]> liveness = management("/health/liveness");
    assertEquals(200, liveness.statusCode(), text(liveness));
    assertEquals("UP", RegistryHarness.parse(liveness.body()).path("status").asText());
    assertEquals(200, management("/health/readiness").statusCode());
  }

  @Test
  void theApiStaysOnThePublicPortOnly() {
    assertEquals(200, registry.get("/api/status").statusCode());
    assertEquals(
        404, management("/api/status").statusCode(), "the API is not on the management port");
    assertEquals(404, management("/api/versions/policy").statusCode());
  }
}
