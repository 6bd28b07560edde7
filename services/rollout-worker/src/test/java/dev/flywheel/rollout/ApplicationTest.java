package dev.flywheel.rollout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.RolloutBatch;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The service as deployed: Micronaut binds {@code flywheel.rollout-worker.*}, the worker joins its
 * group on the real broker and answers a request, and /health and /prometheus report it.
 */
@ExtendWith(FlywheelInfraExtension.class)
class ApplicationTest {

  @Test
  void theServiceAnswersRequestsAndReportsThemOnHealthAndPrometheus(FlywheelInfra infra)
      throws Exception {
    try (RolloutFixtures fx = new RolloutFixtures(infra)) {
      RolloutFixtures.Topics topics = fx.topics(2);
      Map<String, Object> properties =
          Map.of(
              "micronaut.server.port", -1,
              "flywheel.kafka.bootstrap-servers", infra.bootstrapServers(),
              "flywheel.registry.url", infra.registryUrl(),
              "flywheel.rollout-worker.artifact-root", fx.store.root().toString(),
              "flywheel.rollout-worker.requests-topic", topics.requests(),
              "flywheel.rollout-worker.batches-topic", topics.batches(),
              "flywheel.rollout-worker.dead-letters-topic", topics.deadLetters(),
              "flywheel.rollout-worker.group-id", topics.group(),
              "flywheel.rollout-worker.worker-id", "app-worker",
              "flywheel.rollout-worker.poll-timeout", "200ms");
      try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, properties)) {
        RolloutWorkerConfig config =
            server.getApplicationContext().getBean(RolloutWorkerConfig.class);
        assertEquals(Duration.ofMillis(200), config.getPollTimeout());
        assertEquals(Duration.ofMinutes(10), config.getMaxPollInterval(), "defaults stay");

        fx.publish(topics.requests(), 0, fx.request("app-1", 2, Instant.now().plusSeconds(120)));
        RolloutBatch batch = fx.awaitBatch(topics.batches(), b -> true);
        assertEquals("app-1", batch.getRequestId());
        assertEquals("app-worker", batch.getWorkerId());
        assertEquals(6, batch.getSamples().size());

        HttpClient http = HttpClient.newHttpClient();
        String health = get(http, server, "/health");
        assertTrue(
            health.contains("\"rollout-worker\"") && health.contains("\"answered\":1"), health);
        String prometheus = get(http, server, "/prometheus");
        assertTrue(
            prometheus.contains(
                "flywheel_rollout_worker_requests_total{error_type=\"none\",outcome=\"answered\"} 1.0"),
            prometheus);
        assertTrue(
            prometheus.contains("flywheel_rollout_worker_generated_tokens_total"), prometheus);
        assertTrue(prometheus.contains("flywheel_rollout_worker_running 1.0"), prometheus);
      }
    }
  }

  private static String get(HttpClient http, EmbeddedServer server, String path) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(server.getURL() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), path + ": " + response.body());
    return response.body();
  }
}
