package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The same event id reaches the topic once, whether retried in sequence or sent concurrently. */
@ExtendWith(FlywheelInfraExtension.class)
class IdempotencyTest {

  static TestGateway gateway;
  static FlywheelInfra infra;

  @BeforeAll
  static void start(FlywheelInfra flywheelInfra) {
    infra = flywheelInfra;
    gateway = new TestGateway(infra);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static Map<String, Object> ranking(String eventId, String annotator) {
    return Map.of(
        "eventId",
        eventId,
        "transcriptId",
        "t-idem",
        "tiers",
        List.of(List.of("a"), List.of("b")),
        "annotatorId",
        annotator);
  }

  @Test
  void sequentialRetryIsWrittenOnceAndAnsweredWithTheSameResult() {
    String id = "idem-" + UUID.randomUUID();
    Reply first = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id, "ann"));
    Reply second = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id, "ann"));
    assertEquals(200, first.status(), first.text());
    assertEquals(200, second.status(), second.text());
    assertEquals("false", first.header("Idempotent-Replayed"));
    assertEquals("true", second.header("Idempotent-Replayed"));
    assertEquals(first.json(), second.json());
    assertEquals(
        1, TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, List.of(id)).get(id).size());
  }

  @Test
  void idempotencyKeyHeaderIsTheEventId() {
    String key = "idem-key-" + UUID.randomUUID();
    Map<String, Object> body =
        Map.of(
            "turns",
            List.of(Map.of("role", "user", "text", "q")),
            "response",
            "a",
            "annotatorId",
            "w");
    Reply first =
        gateway.post("/v1/demonstrations", TestGateway.SHOP_KEY, body, "Idempotency-Key", key);
    Reply second =
        gateway.post("/v1/demonstrations", TestGateway.SHOP_KEY, body, "Idempotency-Key", key);
    assertEquals(200, first.status(), first.text());
    assertEquals(key, first.json().get("eventId").asText());
    assertEquals("true", second.header("Idempotent-Replayed"));
    assertEquals(first.json(), second.json());
    assertEquals(
        1,
        TestGateway.byEventId(infra, Topics.FEEDBACK_DEMONSTRATIONS, List.of(key)).get(key).size());

    Reply mismatch =
        gateway.post(
            "/v1/demonstrations",
            TestGateway.SHOP_KEY,
            Map.of(
                "eventId",
                "other",
                "turns",
                List.of(Map.of("role", "user", "text", "q")),
                "response",
                "a",
                "annotatorId",
                "w"),
            "Idempotency-Key",
            key);
    assertEquals(400, mismatch.status(), mismatch.text());
    assertEquals("eventId", mismatch.json().get("field").asText());
  }

  @Test
  void reusingAnEventIdForADifferentPayloadIsAConflict() {
    String id = "idem-" + UUID.randomUUID();
    assertEquals(
        200, gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id, "ann-1")).status());
    Reply conflict = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id, "ann-2"));
    assertEquals(422, conflict.status(), conflict.text());
    assertEquals("idempotency_conflict", conflict.json().get("error").asText());
    assertEquals("eventId", conflict.json().get("field").asText());
    var written = TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, List.of(id)).get(id);
    assertEquals(1, written.size());
    assertEquals("ann-1", written.get(0).value().getAnnotatorId());
  }

  @Test
  void eventIdsAreScopedPerApp() {
    String id = "idem-" + UUID.randomUUID();
    assertEquals(
        "false",
        gateway
            .post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id, "a"))
            .header("Idempotent-Replayed"));
    assertEquals(
        "false",
        gateway
            .post("/v1/rankings", TestGateway.RANKER_KEY, ranking(id, "a"))
            .header("Idempotent-Replayed"));
    var written = TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, List.of(id)).get(id);
    assertEquals(2, written.size());
    assertEquals(
        java.util.Set.of("shop", "ranker"),
        written.stream()
            .map(r -> r.value().getAppId())
            .collect(java.util.stream.Collectors.toSet()));
  }

  @Test
  void concurrentDuplicatesAreWrittenOnce() throws Exception {
    int ids = 4;
    int copies = 16;
    ExecutorService pool = Executors.newFixedThreadPool(copies);
    try {
      List<String> eventIds = new ArrayList<>();
      for (int n = 0; n < ids; n++) {
        String id = "idem-conc-" + UUID.randomUUID();
        eventIds.add(id);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Reply>> replies = new ArrayList<>();
        for (int c = 0; c < copies; c++) {
          replies.add(
              pool.submit(
                  () -> {
                    go.await();
                    return gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id, "ann"));
                  }));
        }
        go.countDown();
        int firsts = 0;
        Long offset = null;
        for (Future<Reply> f : replies) {
          Reply r = f.get();
          assertEquals(200, r.status(), r.text());
          if ("false".equals(r.header("Idempotent-Replayed"))) {
            firsts++;
          }
          long o = r.json().get("offset").asLong();
          assertTrue(offset == null || offset == o, "every copy answers with the same offset");
          offset = o;
        }
        assertEquals(1, firsts, "exactly one copy is the original");
      }
      var written = TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, eventIds);
      for (String id : eventIds) {
        assertEquals(1, written.get(id).size(), id);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void replayedBatchIsWrittenOnce() {
    String a = "idem-b-" + UUID.randomUUID();
    String b = "idem-b-" + UUID.randomUUID();
    Map<String, Object> batch = Map.of("items", List.of(ranking(a, "x"), ranking(b, "x")));
    Reply first = gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, batch);
    Reply again = gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, batch);
    assertEquals(200, first.status(), first.text());
    assertEquals(200, again.status(), again.text());
    assertEquals("false", first.header("Idempotent-Replayed"));
    assertEquals("true", again.header("Idempotent-Replayed"));
    assertTrue(again.json().get("items").get(0).get("duplicate").asBoolean());
    assertEquals(
        first.json().get("items").get(1).get("result"),
        again.json().get("items").get(1).get("result"));
    var written = TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, List.of(a, b));
    assertEquals(1, written.get(a).size());
    assertEquals(1, written.get(b).size());
  }
}
