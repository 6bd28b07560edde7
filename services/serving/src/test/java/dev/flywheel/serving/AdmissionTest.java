package dev.flywheel.serving;

import static dev.flywheel.serving.TestServing.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/** 503 until a version is live; 429 when the model's queue is full. */
@ExtendWith(FlywheelInfraExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdmissionTest {

  static TestServing serving;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    serving =
        new TestServing(
            infra,
            Map.of(
                "flywheel.serving.max-queued-rows", 2,
                "flywheel.serving.max-batch-rows", 2,
                "flywheel.serving.batch-window", "0ms"));
  }

  @AfterAll
  static void stop() {
    serving.close();
  }

  @Test
  @Order(1)
  void unavailableUntilAVersionIsLive() {
    TestServing.await(
        () -> serving.manager().routing().caughtUp(), Duration.ofSeconds(30), "caught up");
    Reply reply = serving.completion(chat("flywheel", "anyone?"));
    assertEquals(503, reply.status(), reply.text());
    assertEquals("service_unavailable_error", reply.error().get("type").asText());
    assertEquals("no_live_version", reply.error().get("code").asText());
    assertEquals("5", reply.header("Retry-After"));
    Reply health = serving.get("/health", null);
    assertEquals(503, health.status(), health.text());
    assertTrue(health.text().contains("\"modelLoaded\":false"), health.text());
    assertEquals(200, serving.get("/health/liveness", null).status());

    serving.artifact("v1", 1);
    serving.publishVersion(1, ModelStatus.CANDIDATE, "v1");
    TestServing.await(
        () -> serving.manager().routing().canary() != null, Duration.ofSeconds(60), "v1 as canary");
    assertEquals(
        503, serving.completion(chat("flywheel", "anyone?")).status(), "a candidate is not live");
    assertEquals(200, serving.completion(chat("policy-v1", "pinned", "max_tokens", 2)).status());

    serving.publishVersion(1, ModelStatus.LIVE, "v1");
    serving.awaitLive(1, Duration.ofSeconds(60));
    assertEquals(200, serving.completion(chat("flywheel", "anyone?", "max_tokens", 2)).status());
    assertEquals(200, serving.get("/health", null).status());
  }

  @Test
  @Order(2)
  void aFullQueueAnswers429WithRetryAfter() throws Exception {
    serving.awaitLive(1, Duration.ofSeconds(60));
    ExecutorService pool = Executors.newFixedThreadPool(12);
    try {
      List<Future<Reply>> futures = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        futures.add(
            pool.submit(
                () -> serving.completion(chat("flywheel", "busy", "n", 2, "max_tokens", 50))));
      }
      int ok = 0;
      int limited = 0;
      for (Future<Reply> f : futures) {
        Reply reply = f.get();
        if (reply.status() == 429) {
          limited++;
          assertEquals("rate_limit_error", reply.error().get("type").asText(), reply.text());
          assertEquals("queue_full", reply.error().get("code").asText());
          assertEquals("1", reply.header("Retry-After"));
        } else {
          assertEquals(200, reply.status(), reply.text());
          ok++;
        }
      }
      assertTrue(limited > 0, "some requests were refused");
      assertTrue(ok > 0, "the admitted ones were answered");
      assertTrue(serving.get("/prometheus", null).text().contains("outcome=\"queue_full\""));
    } finally {
      pool.shutdownNow();
    }
  }
}
