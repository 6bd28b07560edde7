package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.infra.testing.FlywheelInfra;
import dev.flywheel.infra.testing.FlywheelInfraExtension;
import dev.flywheel.schemas.topics.Topics;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every validation rule: a failing request answers 400 with the rule's code and the offending field. */
@ExtendWith(FlywheelInfraExtension.class)
class ValidationTest {

  static TestGateway gateway;
  static FlywheelInfra infra;
  static final List<String> rejectedEventIds = new ArrayList<>();

  @BeforeAll
  static void start(FlywheelInfra flywheelInfra) {
    infra = flywheelInfra;
    gateway = new TestGateway(infra, Map.of("flywheel.gateway.max-event-bytes", 4096,
        "flywheel.gateway.max-batch-items", 3, "flywheel.gateway.max-future-skew", "2m"));
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  // ------------------------------------------------------------------------------- valid baselines

  static Map<String, Object> ranking() {
    Map<String, Object> m = new HashMap<>();
    m.put("eventId", "v-" + UUID.randomUUID());
    m.put("transcriptId", "t-1");
    m.put("tiers", List.of(List.of("r1"), List.of("r2", "r3")));
    m.put("annotatorId", "ann");
    return m;
  }

  static Map<String, Object> transcript() {
    Map<String, Object> m = new HashMap<>();
    m.put("eventId", "v-" + UUID.randomUUID());
    m.put("transcriptId", "t-1");
    m.put("turns", List.of(Map.of("role", "user", "text", "hi")));
    m.put("responses", List.of(Map.of("responseId", "r1", "text", "hello"), Map.of("responseId", "r2", "text", "hey")));
    return m;
  }

  static Map<String, Object> demonstration() {
    Map<String, Object> m = new HashMap<>();
    m.put("eventId", "v-" + UUID.randomUUID());
    m.put("turns", List.of(Map.of("role", "user", "text", "hi")));
    m.put("response", "hello");
    m.put("annotatorId", "w");
    return m;
  }

  static Map<String, Object> with(Map<String, Object> base, Object... kv) {
    for (int i = 0; i < kv.length; i += 2) {
      if (kv[i + 1] == null) {
        base.remove((String) kv[i]);
      } else {
        base.put((String) kv[i], kv[i + 1]);
      }
    }
    return base;
  }

  static List<List<String>> tiersOfK(int k) {
    List<List<String>> tiers = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      tiers.add(List.of("r" + i));
    }
    return tiers;
  }

  static Arguments bad(String name, String path, Map<String, Object> body, String code, String field) {
    return Arguments.of(name, path, body, code, field);
  }

  static Stream<Arguments> badRequests() {
    String future = Instant.now().plusSeconds(600).toString();
    String big = "x".repeat(5000);
    return Stream.of(
        // K outside 2..9
        bad("K=1", "/v1/rankings", with(ranking(), "tiers", List.of(List.of("r1"))), "k_out_of_range", "tiers"),
        bad("K=10", "/v1/rankings", with(ranking(), "tiers", tiersOfK(10)), "k_out_of_range", "tiers"),
        bad("K=10 in ties", "/v1/rankings", with(ranking(), "tiers", List.of(
            List.of("a", "b", "c", "d", "e"), List.of("f", "g", "h", "i", "j"))), "k_out_of_range", "tiers"),
        bad("no tiers", "/v1/rankings", with(ranking(), "tiers", null), "missing_field", "tiers"),
        bad("empty tier", "/v1/rankings", with(ranking(), "tiers", List.of(List.of("r1"), List.of(), List.of("r2"))),
            "empty_tier", "tiers[1]"),
        // duplicate response ids
        bad("duplicate in ranking", "/v1/rankings", with(ranking(), "tiers",
            List.of(List.of("r1"), List.of("r2", "r1"))), "duplicate_response_id", "tiers[1][1]"),
        bad("pairwise same response", "/v1/rankings", with(ranking(), "tiers", null, "responseA", "r1",
            "responseB", "r1", "choice", "A"), "duplicate_response_id", "responseB"),
        bad("duplicate in transcript", "/v1/transcripts", with(transcript(), "responses",
            List.of(Map.of("responseId", "r1", "text", "a"), Map.of("responseId", "r1", "text", "b"))),
            "duplicate_response_id", "responses[1].responseId"),
        // pairwise form
        bad("bad choice", "/v1/rankings", with(ranking(), "tiers", null, "responseA", "r1", "responseB", "r2",
            "choice", "C"), "invalid_value", "choice"),
        bad("tiers and choice", "/v1/rankings", with(ranking(), "responseA", "r1", "responseB", "r2",
            "choice", "A"), "invalid_value", "tiers"),
        bad("unknown pool", "/v1/rankings", with(ranking(), "annotatorPool", "crowd"), "invalid_value", "annotatorPool"),
        bad("no annotator", "/v1/rankings", with(ranking(), "annotatorId", null), "missing_field", "annotatorId"),
        bad("no transcript id", "/v1/rankings", with(ranking(), "transcriptId", ""), "missing_field", "transcriptId"),
        // empty text
        bad("empty turn text", "/v1/transcripts", with(transcript(), "turns",
            List.of(Map.of("role", "system", "text", "s"), Map.of("role", "user", "text", "  "))),
            "empty_text", "turns[1].text"),
        bad("empty response text", "/v1/transcripts", with(transcript(), "responses",
            List.of(Map.of("responseId", "r1", "text", ""))), "empty_text", "responses[0].text"),
        bad("empty demonstration", "/v1/demonstrations", with(demonstration(), "response", ""), "empty_text", "response"),
        bad("no responses", "/v1/transcripts", with(transcript(), "responses", List.of()), "missing_field", "responses"),
        bad("no turns", "/v1/demonstrations", with(demonstration(), "turns", List.of()), "missing_field", "turns"),
        // unknown role
        bad("unknown role", "/v1/transcripts", with(transcript(), "turns",
            List.of(Map.of("role", "robot", "text", "hi"))), "unknown_role", "turns[0].role"),
        bad("unknown role demo", "/v1/demonstrations", with(demonstration(), "turns",
            List.of(Map.of("role", "user", "text", "a"), Map.of("role", "moderator", "text", "b"))),
            "unknown_role", "turns[1].role"),
        bad("last turn not user", "/v1/demonstrations", with(demonstration(), "turns",
            List.of(Map.of("role", "user", "text", "a"), Map.of("role", "assistant", "text", "b"))),
            "invalid_value", "turns[1].role"),
        // oversized payload (limit 4096 bytes in this test)
        bad("oversized transcript", "/v1/transcripts", with(transcript(), "responses",
            List.of(Map.of("responseId", "r1", "text", "ok"), Map.of("responseId", "r2", "text", big))),
            "payload_too_large", "responses[1].text"),
        bad("oversized demonstration", "/v1/demonstrations", with(demonstration(), "response", big),
            "payload_too_large", "response"),
        // timestamps
        bad("unparseable time", "/v1/rankings", with(ranking(), "eventTime", "yesterday"), "bad_timestamp", "eventTime"),
        bad("time without offset", "/v1/rankings", with(ranking(), "eventTime", "2025-05-01T12:00:00"),
            "bad_timestamp", "eventTime"),
        bad("time in future", "/v1/demonstrations", with(demonstration(), "eventTime", future),
            "timestamp_in_future", "eventTime"),
        bad("millis in future", "/v1/transcripts", with(transcript(), "eventTime",
            Instant.now().plusSeconds(3600).toEpochMilli()), "timestamp_in_future", "eventTime"),
        bad("time as object", "/v1/transcripts", with(transcript(), "eventTime", Map.of("s", 1)),
            "bad_timestamp", "eventTime"),
        // other rules
        bad("prompt mismatch", "/v1/transcripts", with(transcript(), "prompt", "something else"),
            "invalid_value", "prompt"),
        bad("bad sampling", "/v1/transcripts", with(transcript(), "responses", List.of(Map.of("responseId", "r1",
            "text", "a", "sampling", Map.of("temperature", 0.5, "topP", 1.5, "maxTokens", 10)))),
            "invalid_value", "responses[0].sampling.topP"),
        bad("unsafe seed", "/v1/transcripts", with(transcript(), "responses", List.of(Map.of("responseId", "r1",
            "text", "a", "sampling", Map.of("temperature", 0.5, "maxTokens", 10, "seed", 1L << 53)), Map.of("responseId", "r2",
            "text", "b"))), "invalid_value", "responses[0].sampling.seed"),
        bad("blank event id", "/v1/rankings", with(ranking(), "eventId", " "), "missing_field", "eventId"),
        // batches: item paths, counts, duplicate ids
        bad("batch item invalid", "/v1/rankings:batch", Map.of("items", List.of(ranking(),
            with(ranking(), "tiers", tiersOfK(1)))), "k_out_of_range", "items[1].tiers"),
        bad("batch too many", "/v1/demonstrations:batch", Map.of("items", List.of(demonstration(), demonstration(),
            demonstration(), demonstration())), "too_many_items", "items"),
        bad("batch empty", "/v1/transcripts:batch", Map.of("items", List.of()), "missing_field", "items"),
        bad("batch duplicate event id", "/v1/rankings:batch", Map.of("items", List.of(
            with(ranking(), "eventId", "same-id"), with(ranking(), "eventId", "same-id"))),
            "duplicate_event_id", "items[1].eventId"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void rejectsWithCodeAndField(String name, String path, Map<String, Object> body, String code, String field) {
    Reply reply = gateway.post(path, TestGateway.SHOP_KEY, body);
    assertEquals(400, reply.status(), reply.text());
    assertEquals(code, reply.json().get("error").asText(), reply.text());
    assertEquals(field, reply.json().path("field").asText(null), reply.text());
    assertTrue(reply.json().get("message").asText().length() > 5, reply.text());
    collectEventIds(body);
  }

  @SuppressWarnings("unchecked")
  private static void collectEventIds(Map<String, Object> body) {
    if (body.get("eventId") instanceof String s) {
      rejectedEventIds.add(s);
    }
    if (body.get("items") instanceof List<?> items) {
      items.forEach(i -> collectEventIds((Map<String, Object>) i));
    }
  }

  @Test
  void malformedJsonIsA400InTheSameShape() {
    Reply reply = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, "{\"transcriptId\": ");
    assertEquals(400, reply.status(), reply.text());
    assertEquals("malformed_request", reply.json().get("error").asText(), reply.text());

    Reply wrongType = gateway.post("/v1/transcripts", TestGateway.SHOP_KEY,
        "{\"transcriptId\": \"t\", \"turns\": \"not a list\"}");
    assertEquals(400, wrongType.status(), wrongType.text());
    assertEquals("malformed_request", wrongType.json().get("error").asText(), wrongType.text());
  }

  @Test
  void anUnknownFieldIsA400NamingItNotASilentDefault() {
    // misspelled: held-out labels must never become TRAINING because the pool field was dropped
    Map<String, Object> misspelled = with(ranking(), "annotator_pool", "held_out");
    misspelled.remove("annotatorPool");
    Reply reply = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, misspelled);
    assertEquals(400, reply.status(), reply.text());
    assertTrue(reply.text().contains("annotator_pool"), reply.text());
    rejectedEventIds.add((String) misspelled.get("eventId"));

    Map<String, Object> nested = with(transcript(), "responses", List.of(
        Map.of("responseId", "r1", "text", "hello", "policy_version", 3), Map.of("responseId", "r2", "text", "hey")));
    Reply nestedReply = gateway.post("/v1/transcripts", TestGateway.SHOP_KEY, nested);
    assertEquals(400, nestedReply.status(), nestedReply.text());
    assertTrue(nestedReply.text().contains("policy_version"), nestedReply.text());
    rejectedEventIds.add((String) nested.get("eventId"));

    Map<String, Object> batch = new java.util.HashMap<>(Map.of("items", List.of(ranking()), "extra", 1));
    Reply batchReply = gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, batch);
    assertEquals(400, batchReply.status(), batchReply.text());
    assertTrue(batchReply.text().contains("extra"), batchReply.text());
  }

  @Test
  void wellFormedVariantsOfTheBaselinesAreAccepted() {
    // guards the table above: each baseline is valid, so each failure is due to the one change
    assertEquals(200, gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking()).status());
    assertEquals(200, gateway.post("/v1/rankings", TestGateway.SHOP_KEY, with(ranking(), "tiers", tiersOfK(9))).status());
    assertEquals(200, gateway.post("/v1/transcripts", TestGateway.SHOP_KEY, transcript()).status());
    assertEquals(200, gateway.post("/v1/demonstrations", TestGateway.SHOP_KEY, with(demonstration(), "eventTime",
        Instant.now().plusSeconds(60).toString())).status());
  }

  @Test
  void rejectedEventsAreNeverWritten() {
    // runs in any order: re-send two invalid events, then check none of the collected ids is on a topic
    Map<String, Object> bad = with(ranking(), "tiers", tiersOfK(1));
    assertEquals(400, gateway.post("/v1/rankings", TestGateway.SHOP_KEY, bad).status());
    rejectedEventIds.add((String) bad.get("eventId"));
    assertTrue(TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, rejectedEventIds).isEmpty());
    assertTrue(TestGateway.byEventId(infra, Topics.CHAT_TRANSCRIPTS, rejectedEventIds).isEmpty());
    assertTrue(TestGateway.byEventId(infra, Topics.FEEDBACK_DEMONSTRATIONS, rejectedEventIds).isEmpty());
  }
}
