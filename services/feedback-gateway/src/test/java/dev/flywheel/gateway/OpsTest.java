package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.kit.auth.RequiresApiKey;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import io.micronaut.http.HttpMethod;
import io.micronaut.web.router.Router;
import io.micronaut.web.router.UriRouteInfo;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.yaml.snakeyaml.Yaml;

/** The served OpenAPI document matches the routes; health and Prometheus metrics work. */
@ExtendWith(FlywheelInfraExtension.class)
class OpsTest {

  static TestGateway gateway;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    gateway = new TestGateway(infra);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  @SuppressWarnings("unchecked")
  void openApiDocumentListsExactlyTheRoutesWithTheirScopes() {
    Reply reply = gateway.get("/openapi/feedback-gateway.yml");
    assertEquals(200, reply.status());
    Map<String, Object> doc = new Yaml().load(reply.text());
    Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) doc.get("paths");

    // "METHOD path" -> scope, from the document and from the running router
    Map<String, String> documented = new TreeMap<>();
    paths.forEach(
        (path, ops) ->
            ops.forEach(
                (method, op) ->
                    documented.put(
                        method.toUpperCase() + " " + path,
                        (String) ((Map<String, Object>) op).get("x-scope"))));
    Map<String, String> routed = new TreeMap<>();
    for (UriRouteInfo<?, ?> route : gateway.context.getBean(Router.class).uriRoutes().toList()) {
      String path = route.getUriMatchTemplate().toString();
      if (path.startsWith("/v1/")) {
        routed.put(
            route.getHttpMethod() + " " + path,
            route.getAnnotationMetadata().stringValue(RequiresApiKey.class, "scope").orElse(null));
      }
    }
    assertEquals(6, routed.size(), routed.toString());
    assertEquals(routed, documented);
    routed.keySet().forEach(k -> assertTrue(k.startsWith(HttpMethod.POST.name())));
  }

  @Test
  void healthReportsKafka() {
    Reply health = gateway.get("/health");
    assertEquals(200, health.status(), health.text());
    assertEquals("UP", health.json().get("status").asText());
    assertEquals("UP", health.json().at("/details/kafka/status").asText(), health.text());
  }

  @Test
  void prometheusCountsAcceptedRejectedAndLatency() {
    String id = "ops-" + UUID.randomUUID();
    assertEquals(
        200,
        gateway
            .post(
                "/v1/rankings",
                TestGateway.SHOP_KEY,
                Map.of(
                    "eventId",
                    id,
                    "transcriptId",
                    "t",
                    "tiers",
                    List.of(List.of("a"), List.of("b")),
                    "annotatorId",
                    "x"))
            .status());
    assertEquals(
        200,
        gateway
            .post(
                "/v1/rankings",
                TestGateway.SHOP_KEY,
                Map.of(
                    "eventId",
                    id,
                    "transcriptId",
                    "t",
                    "tiers",
                    List.of(List.of("a"), List.of("b")),
                    "annotatorId",
                    "x"))
            .status());
    assertEquals(
        400,
        gateway
            .post(
                "/v1/rankings",
                TestGateway.SHOP_KEY,
                Map.of("transcriptId", "t", "tiers", List.of(List.of("a")), "annotatorId", "x"))
            .status());
    assertEquals(401, gateway.post("/v1/demonstrations", null, Map.of()).status());

    String metrics = gateway.get("/prometheus").text();
    assertMetric(metrics, "flywheel_gateway_events_accepted_total{kind=\"ranking\"");
    assertMetric(metrics, "flywheel_gateway_events_duplicate_total{kind=\"ranking\"");
    assertMetric(
        metrics,
        "flywheel_gateway_events_rejected_total{kind=\"ranking\",reason=\"k_out_of_range\"");
    assertMetric(
        metrics,
        "flywheel_gateway_events_rejected_total{kind=\"demonstration\",reason=\"unauthorized\"");
    assertMetric(
        metrics, "flywheel_gateway_produce_latency_seconds_bucket{kind=\"ranking\",outcome=\"ok\"");
    assertMetric(
        metrics, "flywheel_gateway_produce_latency_seconds_count{kind=\"ranking\",outcome=\"ok\"");
  }

  static void assertMetric(String metrics, String prefix) {
    assertTrue(
        metrics.lines().anyMatch(l -> l.startsWith(prefix)), "no line starting with " + prefix);
  }
}
