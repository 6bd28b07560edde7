package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
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

/**
 * Every validation rule: a failing request answers 400 with the rule's code and the offending
 * field.
 */
@ExtendWith(FlywheelInfraExtension.class)
class ValidationTest {

  static TestGateway gateway;
  static FlywheelInfra infra;
  static final List<String> rejectedEventIds = new ArrayList<>();

  @BeforeAll
  static void start(FlywheelInfra flywheelInfra) {
    infra = flywheelInfra;
    // max-id-length keeps its default (128); texts are limited to 4096 characters here
    gateway =
        new TestGateway(
            infra,
            Map.of(
                "flywheel.gateway.max-event-bytes",
                4096,
                "flywheel.gateway.max-batch-items",
                3,
                "flywheel.gateway.max-future-skew",
                "2m",
                "flywheel.gateway.max-text-length",
                4096));
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
    m.put(
        "responses",
        List.of(
            Map.of("responseId", "r1", "text", "hello"),
            Map.of("responseId", "r2", "text", "hey")));
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

  static Arguments bad(
      String name, String path, Map<String, Object> body, String code, String field) {
    return Arguments.of(name, path, body, code, field);
  }

  static Stream<Arguments> badRequests() {
    String future = Instant.now().plusSeconds(600).toString();
    String big = "x".repeat(4096); // within max-text-length, beyond max-event-bytes
    return Stream.of(
        // K outside 2..9
        bad(
            "K=1",
            "/v1/rankings",
            with(ranking(), "tiers", List.of(List.of("r1"))),
            "k_out_of_range",
            "tiers"),
        bad(
            "K=10",
            "/v1/rankings",
            with(ranking(), "tiers", tiersOfK(10)),
            "k_out_of_range",
            "tiers"),
        bad(
            "K=10 in ties",
            "/v1/rankings",
            with(
                ranking(),
                "tiers",
                List.of(List.of("a", "b", "c", "d", "e"), List.of("f", "g", "h", "i", "j"))),
            "k_out_of_range",
            "tiers"),
        bad("no tiers", "/v1/rankings", with(ranking(), "tiers", null), "missing_field", "tiers"),
        bad(
            "empty tier",
            "/v1/rankings",
            with(ranking(), "tiers", List.of(List.of("r1"), List.of(), List.of("r2"))),
            "empty_tier",
            "tiers[1]"),
        // duplicate response ids
        bad(
            "duplicate in ranking",
            "/v1/rankings",
            with(ranking(), "tiers", List.of(List.of("r1"), List.of("r2", "r1"))),
            "duplicate_response_id",
            "tiers[1][1]"),
        bad(
            "pairwise same response",
            "/v1/rankings",
            with(ranking(), "tiers", null, "responseA", "r1", "responseB", "r1", "choice", "A"),
            "duplicate_response_id",
            "responseB"),
        bad(
            "duplicate in transcript",
            "/v1/transcripts",
            with(
                transcript(),
                "responses",
                List.of(
                    Map.of("responseId", "r1", "text", "a"),
                    Map.of("responseId", "r1", "text", "b"))),
            "duplicate_response_id",
            "responses[1].responseId"),
        // pairwise form
        bad(
            "bad choice",
            "/v1/rankings",
            with(ranking(), "tiers", null, "responseA", "r1", "responseB", "r2", "choice", "C"),
            "invalid_value",
            "choice"),
        bad(
            "tiers and choice",
            "/v1/rankings",
            with(ranking(), "responseA", "r1", "responseB", "r2", "choice", "A"),
            "invalid_value",
            "tiers"),
        bad(
            "unknown pool",
            "/v1/rankings",
            with(ranking(), "annotatorPool", "crowd"),
            "invalid_value",
            "annotatorPool"),
        bad(
            "no annotator",
            "/v1/rankings",
            with(ranking(), "annotatorId", null),
            "missing_field",
            "annotatorId"),
        bad(
            "no transcript id",
            "/v1/rankings",
            with(ranking(), "transcriptId", ""),
            "missing_field",
            "transcriptId"),
        // empty text
        bad(
            "empty turn text",
            "/v1/transcripts",
            with(
                transcript(),
                "turns",
                List.of(
                    Map.of("role", "system", "text", "s"), Map.of("role", "user", "text", "  "))),
            "empty_text",
            "turns[1].text"),
        bad(
            "empty response text",
            "/v1/transcripts",
            with(transcript(), "responses", List.of(Map.of("responseId", "r1", "text", ""))),
            "empty_text",
            "responses[0].text"),
        bad(
            "empty demonstration",
            "/v1/demonstrations",
            with(demonstration(), "response", ""),
            "empty_text",
            "response"),
        bad(
            "no responses",
            "/v1/transcripts",
            with(transcript(), "responses", List.of()),
            "missing_field",
            "responses"),
        bad(
            "no turns",
            "/v1/demonstrations",
            with(demonstration(), "turns", List.of()),
            "missing_field",
            "turns"),
        // unknown role
        bad(
            "unknown role",
            "/v1/transcripts",
            with(transcript(), "turns", List.of(Map.of("role", "robot", "text", "hi"))),
            "unknown_role",
            "turns[0].role"),
        bad(
            "unknown role demo",
            "/v1/demonstrations",
            with(
                demonstration(),
                "turns",
                List.of(
                    Map.of("role", "user", "text", "a"), Map.of("role", "moderator", "text", "b"))),
            "unknown_role",
            "turns[1].role"),
        bad(
            "last turn not user",
            "/v1/demonstrations",
            with(
                demonstration(),
                "turns",
                List.of(
                    Map.of("role", "user", "text", "a"), Map.of("role", "assistant", "text", "b"))),
            "invalid_value",
            "turns[1].role"),
        // oversized payload (limit 4096 bytes in this test)
        bad(
            "oversized transcript",
            "/v1/transcripts",
            with(
                transcript(),
                "responses",
                List.of(
                    Map.of("responseId", "r1", "text", "ok"),
                    Map.of("responseId", "r2", "text", big))),
            "payload_too_large",
            "responses[1].text"),
        bad(
            "oversized demonstration",
            "/v1/demonstrations",
            with(demonstration(), "response", big),
            "payload_too_large",
            "response"),
        // timestamps
        bad(
            "unparseable time",
            "/v1/rankings",
            with(ranking(), "eventTime", "yesterday"),
            "bad_timestamp",
            "eventTime"),
        bad(
            "time without offset",
            "/v1/rankings",
            with(ranking(), "eventTime", "2025-05-01T12:00:00"),
            "bad_timestamp",
            "eventTime"),
        bad(
            "time in future",
            "/v1/demonstrations",
            with(demonstration(), "eventTime", future),
            "timestamp_in_future",
            "eventTime"),
        bad(
            "millis in future",
            "/v1/transcripts",
            with(transcript(), "eventTime", Instant.now().plusSeconds(3600).toEpochMilli()),
            "timestamp_in_future",
            "eventTime"),
        bad(
            "time as object",
            "/v1/transcripts",
            with(transcript(), "eventTime", Map.of("s", 1)),
            "bad_timestamp",
            "eventTime"),
        // other rules
        bad(
            "prompt mismatch",
            "/v1/transcripts",
            with(transcript(), "prompt", "something else"),
            "invalid_value",
            "prompt"),
        bad(
            "bad sampling",
            "/v1/transcripts",
            with(
                transcript(),
                "responses",
                List.of(
                    Map.of(
                        "responseId",
                        "r1",
                        "text",
                        "a",
                        "sampling",
                        Map.of("temperature", 0.5, "topP", 1.5, "maxTokens", 10)))),
            "invalid_value",
            "responses[0].sampling.topP"),
        bad(
            "unsafe seed",
            "/v1/transcripts",
            with(
                transcript(),
                "responses",
                List.of(
                    Map.of(
                        "responseId",
                        "r1",
                        "text",
                        "a",
                        "sampling",
                        Map.of("temperature", 0.5, "maxTokens", 10, "seed", 1L << 53)),
                    Map.of("responseId", "r2", "text", "b"))),
            "invalid_value",
            "responses[0].sampling.seed"),
        bad(
            "blank event id",
            "/v1/rankings",
            with(ranking(), "eventId", " "),
            "missing_field",
            "eventId"),
        // batches: item paths, counts, duplicate ids
        bad(
            "batch item invalid",
            "/v1/rankings:batch",
            Map.of("items", List.of(ranking(), with(ranking(), "tiers", tiersOfK(1)))),
            "k_out_of_range",
            "items[1].tiers"),
        bad(
            "batch too many",
            "/v1/demonstrations:batch",
            Map.of(
                "items",
                List.of(demonstration(), demonstration(), demonstration(), demonstration())),
            "too_many_items",
            "items"),
        bad(
            "batch empty",
            "/v1/transcripts:batch",
            Map.of("items", List.of()),
            "missing_field",
            "items"),
        bad(
            "batch duplicate event id",
            "/v1/rankings:batch",
            Map.of(
                "items",
                List.of(
                    with(ranking(), "eventId", "same-id"), with(ranking(), "eventId", "same-id"))),
            "duplicate_event_id",
            "items[1].eventId"),
        // per-field lengths: ids at most max-id-length (default 128), texts at most max-text-length
        // (4096 here)
        bad(
            "long event id",
            "/v1/rankings",
            with(ranking(), "eventId", "e".repeat(129)),
            "too_long",
            "eventId"),
        bad(
            "long transcript id",
            "/v1/rankings",
            with(ranking(), "transcriptId", "t".repeat(129)),
            "too_long",
            "transcriptId"),
        bad(
            "long ranking id",
            "/v1/rankings",
            with(ranking(), "rankingId", "k".repeat(129)),
            "too_long",
            "rankingId"),
        bad(
            "long ranked id",
            "/v1/rankings",
            with(ranking(), "tiers", List.of(List.of("r1"), List.of("r".repeat(129)))),
            "too_long",
            "tiers[1][0]"),
        bad(
            "long responseA",
            "/v1/rankings",
            with(
                ranking(),
                "tiers",
                null,
                "responseA",
                "a".repeat(129),
                "responseB",
                "r2",
                "choice",
                "A"),
            "too_long",
            "responseA"),
        bad(
            "long annotator id",
            "/v1/rankings",
            with(ranking(), "annotatorId", "a".repeat(129)),
            "too_long",
            "annotatorId"),
        bad(
            "long comment",
            "/v1/rankings",
            with(ranking(), "comment", "c".repeat(4097)),
            "too_long",
            "comment"),
        bad(
            "long conversation id",
            "/v1/transcripts",
            with(transcript(), "conversationId", "c".repeat(129)),
            "too_long",
            "conversationId"),
        bad(
            "long user id",
            "/v1/transcripts",
            with(transcript(), "userId", "u".repeat(129)),
            "too_long",
            "userId"),
        bad(
            "long response id",
            "/v1/transcripts",
            with(
                transcript(),
                "responses",
                List.of(
                    Map.of("responseId", "r1", "text", "a"),
                    Map.of("responseId", "r".repeat(129), "text", "b"))),
            "too_long",
            "responses[1].responseId"),
        bad(
            "long turn text",
            "/v1/transcripts",
            with(transcript(), "turns", List.of(Map.of("role", "user", "text", "y".repeat(4097)))),
            "too_long",
            "turns[0].text"),
        bad(
            "long response text",
            "/v1/transcripts",
            with(
                transcript(),
                "responses",
                List.of(Map.of("responseId", "r1", "text", "y".repeat(4097)))),
            "too_long",
            "responses[0].text"),
        bad(
            "long demonstration id",
            "/v1/demonstrations",
            with(demonstration(), "demonstrationId", "d".repeat(129)),
            "too_long",
            "demonstrationId"),
        bad(
            "long demonstration",
            "/v1/demonstrations",
            with(demonstration(), "response", "y".repeat(4097)),
            "too_long",
            "response"),
        bad(
            "long batch item id",
            "/v1/demonstrations:batch",
            Map.of(
                "items",
                List.of(demonstration(), with(demonstration(), "annotatorId", "w".repeat(129)))),
            "too_long",
            "items[1].annotatorId"),
        // NUL is refused in every text and id (it is U+0000 in JSON, but a terminator to C,
        // Postgres, ...)
        bad(
            "NUL in turn text",
            "/v1/transcripts",
            with(transcript(), "turns", List.of(Map.of("role", "user", "text", "a\u0000b"))),
            "invalid_text",
            "turns[0].text"),
        bad(
            "NUL in annotator id",
            "/v1/rankings",
            with(ranking(), "annotatorId", "ann\u0000"),
            "invalid_text",
            "annotatorId"),
        bad(
            "NUL in comment",
            "/v1/rankings",
            with(ranking(), "comment", "\u0000"),
            "invalid_text",
            "comment"),
        bad(
            "NUL in demonstration",
            "/v1/demonstrations",
            with(demonstration(), "response", "ok\u0000"),
            "invalid_text",
            "response"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void rejectsWithCodeAndField(
      String name, String path, Map<String, Object> body, String code, String field) {
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

  /**
   * A transcript body as raw JSON text, with {@code TEXT} standing for the (already escaped) turn
   * text.
   */
  static String rawTranscript(String eventId, String turnText, String responseId) {
    return "{\"eventId\":\""
        + eventId
        + "\",\"transcriptId\":\"t-1\",\"turns\":[{\"role\":\"user\",\"text\":\""
        + turnText
        + "\"}],\"responses\":[{\"responseId\":\""
        + responseId
        + "\",\"text\":\"hello\"}]}";
  }

  @Test
  void loneSurrogatesAreA400NotAQuestionMark() {
    // JSON may spell a lone UTF-16 surrogate as an escape; Avro's UTF-8 encoder would write it as
    // '?'
    for (String[] c :
        new String[][] {
          {"hi \\ud800 there", "r1", "turns[0].text"},
          {"hi", "r\\udc00", "responses[0].responseId"},
          {"reversed \\udc00\\ud800 pair", "r1", "turns[0].text"},
          {"ends on a high surrogate \\ud83d", "r1", "turns[0].text"}
        }) {
      String id = "v-" + UUID.randomUUID();
      Reply reply =
          gateway.post("/v1/transcripts", TestGateway.SHOP_KEY, rawTranscript(id, c[0], c[1]));
      assertEquals(400, reply.status(), c[0] + ": " + reply.text());
      assertEquals("invalid_text", reply.json().get("error").asText(), reply.text());
      assertEquals(c[2], reply.json().get("field").asText(), reply.text());
      rejectedEventIds.add(id);
    }
    // a surrogate pair (one character outside the BMP), escaped or as UTF-8, is text like any other
    assertEquals(
        200,
        gateway
            .post(
                "/v1/transcripts",
                TestGateway.SHOP_KEY,
                rawTranscript("v-" + UUID.randomUUID(), "smile \\ud83d\\ude00", "r1"))
            .status());
    assertEquals(
        200,
        gateway
            .post(
                "/v1/transcripts",
                TestGateway.SHOP_KEY,
                rawTranscript("v-" + UUID.randomUUID(), "smile \uD83D\uDE00", "r1"))
            .status());
    // a surrogate encoded as UTF-8 bytes (CESU-8, ED A0 80) is not UTF-8 at all
    String id = "v-" + UUID.randomUUID();
    byte[] body = rawTranscript(id, "bad SURROGATE", "r1").getBytes(StandardCharsets.UTF_8);
    byte[] cesu =
        replace(
            body,
            "SURROGATE".getBytes(StandardCharsets.UTF_8),
            new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80});
    Reply reply = gateway.postBytes("/v1/transcripts", TestGateway.SHOP_KEY, cesu);
    assertEquals(400, reply.status(), reply.text());
    rejectedEventIds.add(id);
  }

  static byte[] replace(byte[] in, byte[] what, byte[] with) {
    String s = new String(in, StandardCharsets.ISO_8859_1);
    return s.replace(
            new String(what, StandardCharsets.ISO_8859_1),
            new String(with, StandardCharsets.ISO_8859_1))
        .getBytes(StandardCharsets.ISO_8859_1);
  }

  static Stream<Arguments> hugeNumbers() {
    long now = Instant.now().toEpochMilli();
    // 2^64 + now: a long's low 64 bits of it are a valid, recent epoch-millis value
    String wrapsToNow =
        new BigInteger("18446744073709551616").add(BigInteger.valueOf(now)).toString();
    String digits = "9".repeat(5000);
    return Stream.of(
        Arguments.of("eventTime 2^64 + now", "\"eventTime\": " + wrapsToNow, "eventTime"),
        Arguments.of("eventTime 1e400", "\"eventTime\": 1e400", "eventTime"),
        Arguments.of("eventTime -1e400", "\"eventTime\": -1e400", "eventTime"),
        // beyond Jackson's 1000-digit limit (StreamReadConstraints) the parser itself refuses: 400,
        // field "body"
        Arguments.of("eventTime 5000 digits", "\"eventTime\": " + digits, "body"),
        Arguments.of(
            "tokenCount 1e20",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"tokenCount\": 99999999999999999999}]",
            "responses[0].tokenCount"),
        Arguments.of(
            "tokenCount 2^31",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"tokenCount\": 2147483648}]",
            "responses[0].tokenCount"),
        Arguments.of(
            "policyVersion 1e400",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"policyVersion\": 1e400}]",
            "responses[0].policyVersion"),
        Arguments.of(
            "policyVersion 5000 digits",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"policyVersion\": "
                + digits
                + "}]",
            "body"),
        Arguments.of(
            "policyVersion 999 digits",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"policyVersion\": "
                + "9".repeat(999)
                + "}]",
            "responses[0].policyVersion"),
        Arguments.of(
            "policyVersion 1e999999999",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"policyVersion\": 1e999999999}]",
            "responses[0].policyVersion"),
        Arguments.of(
            "topK 2.5",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"sampling\": {\"temperature\": 1, \"maxTokens\": 8, \"topK\": 2.5}}]",
            "responses[0].sampling.topK"),
        Arguments.of(
            "topP 1e-999999999 is 0",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"sampling\": {\"temperature\": 1, \"maxTokens\": 8, \"topP\": 1e-999999999}}]",
            "responses[0].sampling.topP"),
        Arguments.of(
            "seed 1e20",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", \"sampling\": "
                + "{\"temperature\": 1, \"maxTokens\": 8, \"seed\": 99999999999999999999}}]",
            "responses[0].sampling.seed"),
        Arguments.of(
            "temperature 1e400",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"sampling\": {\"temperature\": 1e400, \"maxTokens\": 8}}]",
            "responses[0].sampling.temperature"),
        Arguments.of(
            "maxTokens 1e20",
            "\"responses\": [{\"responseId\": \"r1\", \"text\": \"a\", "
                + "\"sampling\": {\"temperature\": 1, \"maxTokens\": 1e20}}]",
            "responses[0].sampling.maxTokens"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hugeNumbers")
  void hugeNumbersAreA400NamingTheField(String name, String member, String field) {
    String id = "v-" + UUID.randomUUID();
    String body =
        "{\"eventId\": \""
            + id
            + "\", \"transcriptId\": \"t-1\", \"turns\": [{\"role\": \"user\", "
            + "\"text\": \"hi\"}], "
            + (member.startsWith("\"responses\"")
                ? member
                : member + ", \"responses\": [{\"responseId\": \"r1\", \"text\": \"a\"}]")
            + "}";
    Reply reply = gateway.post("/v1/transcripts", TestGateway.SHOP_KEY, body);
    assertEquals(400, reply.status(), reply.text());
    assertEquals(field, reply.json().path("field").asText(null), reply.text());
    rejectedEventIds.add(id);
  }

  @Test
  void deepNestingIsA400() {
    for (int depth : new int[] {200, 5_000, 100_000}) {
      String id = "v-" + UUID.randomUUID();
      String nested = "[".repeat(depth) + "]".repeat(depth);
      Reply reply =
          gateway.post(
              "/v1/rankings",
              TestGateway.SHOP_KEY,
              "{\"eventId\": \""
                  + id
                  + "\", \"transcriptId\": \"t\", \"tiers\": [[\"a\"], [\"b\"]], \"annotatorId\": \"x\", "
                  + "\"eventTime\": "
                  + nested
                  + "}");
      assertEquals(400, reply.status(), depth + ": " + reply.text());
      rejectedEventIds.add(id);
      Reply unknown =
          gateway.post(
              "/v1/rankings",
              TestGateway.SHOP_KEY,
              "{\"eventId\": \""
                  + id
                  + "\", \"transcriptId\": \"t\", \"tiers\": [[\"a\"], [\"b\"]], \"annotatorId\": \"x\", "
                  + "\"extra\": "
                  + nested
                  + "}");
      assertEquals(400, unknown.status(), depth + ": " + unknown.text());
    }
  }

  @Test
  void errorMessagesDoNotEchoHugeValues() {
    Reply reply =
        gateway.post(
            "/v1/rankings",
            TestGateway.SHOP_KEY,
            with(ranking(), "annotatorPool", "p".repeat(100_000)));
    assertEquals(400, reply.status());
    assertTrue(reply.text().length() < 2_000, "answer of " + reply.text().length() + " characters");
    Reply time =
        gateway.post(
            "/v1/rankings",
            TestGateway.SHOP_KEY,
            with(ranking(), "eventTime", "9".repeat(100_000)));
    assertEquals(400, time.status());
    assertTrue(time.text().length() < 2_000, "answer of " + time.text().length() + " characters");
  }

  @Test
  void malformedJsonIsA400InTheSameShape() {
    Reply reply = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, "{\"transcriptId\": ");
    assertEquals(400, reply.status(), reply.text());
    assertEquals("malformed_request", reply.json().get("error").asText(), reply.text());

    Reply wrongType =
        gateway.post(
            "/v1/transcripts",
            TestGateway.SHOP_KEY,
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

    Map<String, Object> nested =
        with(
            transcript(),
            "responses",
            List.of(
                Map.of("responseId", "r1", "text", "hello", "policy_version", 3),
                Map.of("responseId", "r2", "text", "hey")));
    Reply nestedReply = gateway.post("/v1/transcripts", TestGateway.SHOP_KEY, nested);
    assertEquals(400, nestedReply.status(), nestedReply.text());
    assertTrue(nestedReply.text().contains("policy_version"), nestedReply.text());
    rejectedEventIds.add((String) nested.get("eventId"));

    Map<String, Object> batch =
        new java.util.HashMap<>(Map.of("items", List.of(ranking()), "extra", 1));
    Reply batchReply = gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, batch);
    assertEquals(400, batchReply.status(), batchReply.text());
    assertTrue(batchReply.text().contains("extra"), batchReply.text());
  }

  @Test
  void wellFormedVariantsOfTheBaselinesAreAccepted() {
    // guards the table above: each baseline is valid, so each failure is due to the one change
    assertEquals(200, gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking()).status());
    assertEquals(
        200,
        gateway
            .post("/v1/rankings", TestGateway.SHOP_KEY, with(ranking(), "tiers", tiersOfK(9)))
            .status());
    assertEquals(200, gateway.post("/v1/transcripts", TestGateway.SHOP_KEY, transcript()).status());
    assertEquals(
        200,
        gateway
            .post(
                "/v1/demonstrations",
                TestGateway.SHOP_KEY,
                with(demonstration(), "eventTime", Instant.now().plusSeconds(60).toString()))
            .status());
    // ids of exactly max-id-length (128) characters
    String id = "v-" + "i".repeat(126);
    assertEquals(
        200,
        gateway
            .post(
                "/v1/rankings",
                TestGateway.SHOP_KEY,
                with(
                    ranking(),
                    "eventId",
                    id,
                    "transcriptId",
                    "t".repeat(128),
                    "annotatorId",
                    "a".repeat(128),
                    "tiers",
                    List.of(List.of("r".repeat(128)), List.of("s".repeat(128)))))
            .status());
  }

  @Test
  void theIdempotencyKeyLeavesRoomForTheBatchIndex() {
    // max-id-length - 8: "<key>:<index>" must still be an id of at most max-id-length characters
    Reply tooLong =
        gateway.post(
            "/v1/rankings:batch",
            TestGateway.SHOP_KEY,
            Map.of("items", List.of(with(ranking(), "eventId", null))),
            "Idempotency-Key",
            "k".repeat(121));
    assertEquals(400, tooLong.status(), tooLong.text());
    assertEquals("too_long", tooLong.json().get("error").asText(), tooLong.text());
    assertEquals("Idempotency-Key", tooLong.json().get("field").asText(), tooLong.text());
    String key = "k-" + UUID.randomUUID() + "-" + "k".repeat(81);
    assertEquals(120, key.length());
    Reply ok =
        gateway.post(
            "/v1/rankings:batch",
            TestGateway.SHOP_KEY,
            Map.of(
                "items",
                List.of(with(ranking(), "eventId", null), with(ranking(), "eventId", null))),
            "Idempotency-Key",
            key);
    assertEquals(200, ok.status(), ok.text());
    assertEquals(key + ":1", ok.json().at("/items/1/result/eventId").asText(), ok.text());
  }

  @Test
  void rejectedEventsAreNeverWritten() {
    // runs in any order: re-send two invalid events, then check none of the collected ids is on a
    // topic
    Map<String, Object> bad = with(ranking(), "tiers", tiersOfK(1));
    assertEquals(400, gateway.post("/v1/rankings", TestGateway.SHOP_KEY, bad).status());
    rejectedEventIds.add((String) bad.get("eventId"));
    assertTrue(TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, rejectedEventIds).isEmpty());
    assertTrue(TestGateway.byEventId(infra, Topics.CHAT_TRANSCRIPTS, rejectedEventIds).isEmpty());
    assertTrue(
        TestGateway.byEventId(infra, Topics.FEEDBACK_DEMONSTRATIONS, rejectedEventIds).isEmpty());
  }
}
