package dev.flywheel.serving;

import static dev.flywheel.serving.TestServing.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.kit.auth.ApiKeys;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.serving.TestServing.Stream;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The HTTP contract: OpenAI's shapes for completions, chunks, models and errors; auth; ops
 * endpoints.
 */
@ExtendWith(FlywheelInfraExtension.class)
class ChatApiTest {

  static TestServing serving;
  static String expected;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    serving = new TestServing(infra, Map.of());
    serving.artifact("v1", 1);
    serving.publishVersion(1, ModelStatus.LIVE, "v1");
    serving.awaitLive(1, Duration.ofSeconds(60));
    expected =
        TestModels.reference(serving.artifactDir("v1"), serving.sha("v1"), "Hello", 12, 1f, 42);
  }

  @AfterAll
  static void stop() {
    serving.close();
  }

  @Test
  void completionHasOpenAiShape() {
    Reply reply =
        serving.completion(
            chat("flywheel", "Hello", "temperature", 1.0, "seed", 42, "max_tokens", 12));
    assertEquals(200, reply.status(), reply.text());
    JsonNode body = reply.json();
    String id = body.get("id").asText();
    assertTrue(id.startsWith("chatcmpl-"), id);
    assertEquals("chat.completion", body.get("object").asText());
    assertTrue(Math.abs(body.get("created").asLong() - System.currentTimeMillis() / 1000) < 60);
    assertEquals("policy-v1", body.get("model").asText());
    assertEquals("policy-v1", body.get("system_fingerprint").asText());
    assertEquals("1", reply.header("X-Flywheel-Policy-Version"));
    assertEquals(1, body.get("choices").size());
    JsonNode choice = body.get("choices").get(0);
    assertEquals(0, choice.get("index").asInt());
    assertEquals("assistant", choice.get("message").get("role").asText());
    assertTrue(choice.has("logprobs") && choice.get("logprobs").isNull(), choice.toString());
    assertTrue(Set.of("stop", "length").contains(choice.get("finish_reason").asText()));
    assertEquals(id + "-0", choice.get("response_id").asText());
    // the text is what the model module's own Sampler draws from the same artifact and seed
    assertTrue(
        expected.length() >= 3,
        "a seeded sample of an untrained model is visible text: " + expected);
    assertEquals(expected, choice.get("message").get("content").asText());
    JsonNode usage = body.get("usage");
    int prompt = usage.get("prompt_tokens").asInt();
    assertEquals(1 + 1 + 5 + 1 + 1, prompt); // BOS USER "Hello" EOS ASSISTANT
    assertTrue(
        usage.get("completion_tokens").asInt() >= 1
            && usage.get("completion_tokens").asInt() <= 12);
    assertEquals(
        prompt + usage.get("completion_tokens").asInt(), usage.get("total_tokens").asInt());
  }

  @Test
  void nCandidatesEachWithAResponseId() {
    Reply reply =
        serving.completion(
            chat(
                "flywheel", "Rank these", "n", 4, "max_tokens", 10, "temperature", 1.0, "seed", 7));
    assertEquals(200, reply.status(), reply.text());
    JsonNode choices = reply.json().get("choices");
    assertEquals(4, choices.size());
    Set<String> ids = new HashSet<>();
    Set<String> texts = new HashSet<>();
    int tokens = 0;
    for (int i = 0; i < 4; i++) {
      assertEquals(i, choices.get(i).get("index").asInt());
      ids.add(choices.get(i).get("response_id").asText());
      texts.add(choices.get(i).get("message").get("content").asText());
    }
    assertEquals(4, ids.size());
    assertTrue(texts.size() > 1, "sampled candidates should differ: " + texts);
    // the same seed reproduces the same candidates
    Reply again =
        serving.completion(
            chat(
                "flywheel", "Rank these", "n", 4, "max_tokens", 10, "temperature", 1.0, "seed", 7));
    for (int i = 0; i < 4; i++) {
      assertEquals(
          choices.get(i).get("message").get("content").asText(),
          again.json().get("choices").get(i).get("message").get("content").asText());
    }
  }

  @Test
  void streamingSendsOpenAiChunksThenDone() {
    Map<String, Object> body =
        chat(
            "flywheel",
            "Hello",
            "temperature",
            1.0,
            "seed",
            3,
            "max_tokens",
            12,
            "n",
            2,
            "stream",
            true,
            "stream_options",
            Map.of("include_usage", true));
    Stream stream = serving.stream(body);
    assertEquals(200, stream.status(), stream.raw());
    assertTrue(
        stream.header("Content-Type").startsWith("text/event-stream"), stream.headers().toString());
    assertEquals("1", stream.header("X-Flywheel-Policy-Version"));
    assertEquals("[DONE]", stream.data().get(stream.data().size() - 1), stream.raw());
    assertTrue(
        stream.raw().contains("data: [DONE]\n\n") || stream.raw().contains("data:[DONE]\n\n"),
        stream.raw());
    List<JsonNode> chunks = stream.chunks();
    String id = chunks.get(0).get("id").asText();
    boolean[] sawRole = new boolean[2];
    String[] finish = new String[2];
    JsonNode usage = null;
    for (JsonNode chunk : chunks) {
      assertEquals(id, chunk.get("id").asText());
      assertEquals("chat.completion.chunk", chunk.get("object").asText());
      assertEquals("policy-v1", chunk.get("model").asText());
      assertEquals("policy-v1", chunk.get("system_fingerprint").asText());
      assertTrue(chunk.get("created").asLong() > 0);
      if (chunk.get("choices").isEmpty()) {
        usage = chunk.get("usage");
        continue;
      }
      JsonNode choice = chunk.get("choices").get(0);
      int index = choice.get("index").asInt();
      assertNull(finish[index], "nothing after a candidate's finish_reason");
      assertTrue(choice.has("finish_reason"), choice.toString());
      if (!sawRole[index]) {
        assertEquals("assistant", choice.get("delta").get("role").asText(), "the role comes first");
        assertEquals(id + "-" + index, choice.get("response_id").asText());
        sawRole[index] = true;
      } else {
        assertFalse(choice.get("delta").has("role"));
      }
      if (!choice.get("finish_reason").isNull()) {
        finish[index] = choice.get("finish_reason").asText();
        assertEquals(0, choice.get("delta").size(), "the last delta is empty");
      }
    }
    assertTrue(sawRole[0] && sawRole[1]);
    assertNotNull(finish[0]);
    assertNotNull(finish[1]);
    assertNotNull(usage, "include_usage sends a usage chunk with empty choices");
    assertEquals(
        usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt(),
        usage.get("total_tokens").asInt());

    // the streamed deltas add up to what the same request answers without streaming
    Map<String, Object> plain = new HashMap<>(body);
    plain.remove("stream");
    plain.remove("stream_options");
    Reply reply = serving.completion(plain);
    for (int i = 0; i < 2; i++) {
      assertEquals(
          reply.json().get("choices").get(i).get("message").get("content").asText(),
          stream.content(i));
      assertEquals(reply.json().get("choices").get(i).get("finish_reason").asText(), finish[i]);
    }
    assertEquals(
        reply.json().get("usage").get("completion_tokens").asInt(),
        usage.get("completion_tokens").asInt());
  }

  @Test
  void streamingWorksWhateverTheClientAccepts() {
    for (String accept : List.of("application/json", "*/*")) {
      Stream stream =
          serving.stream(chat("flywheel", "Hi", "max_tokens", 3, "stream", true), accept);
      assertEquals(200, stream.status(), stream.raw());
      assertTrue(stream.header("Content-Type").startsWith("text/event-stream"), accept);
      assertEquals("[DONE]", stream.data().get(stream.data().size() - 1));
    }
  }

  @Test
  void stopSequencesAndMaxTokens() {
    String text = expected; // seed 42, 12 tokens
    Reply one =
        serving.completion(chat("flywheel", "Hello", "seed", 42, "max_completion_tokens", 1));
    assertEquals(1, one.json().get("usage").get("completion_tokens").asInt());
    assertEquals("length", one.json().get("choices").get(0).get("finish_reason").asText());
    String stop = text.substring(2, 3);
    Reply stopped =
        serving.completion(
            chat(
                "flywheel",
                "Hello",
                "seed",
                42,
                "max_tokens",
                12,
                "stop",
                List.of("not-in-there", stop)));
    JsonNode choice = stopped.json().get("choices").get(0);
    assertEquals(
        text.substring(0, text.indexOf(stop)), choice.get("message").get("content").asText());
    assertEquals("stop", choice.get("finish_reason").asText());
  }

  static void assertInvalid(Reply reply, String param) {
    assertEquals(400, reply.status(), reply.text());
    JsonNode error = reply.error();
    assertNotNull(error, reply.text());
    assertEquals("invalid_request_error", error.get("type").asText(), reply.text());
    assertTrue(error.get("message").asText().length() > 5);
    assertTrue(error.has("code"), reply.text());
    if (param == null) {
      assertTrue(error.get("param").isNull(), reply.text());
    } else {
      assertEquals(param, error.get("param").asText(), reply.text());
    }
  }

  @Test
  void validationErrorsNameTheParam() {
    assertInvalid(serving.completion(chat("flywheel", "hi", "temperature", 3)), "temperature");
    assertInvalid(serving.completion(chat("flywheel", "hi", "temperature", "hot")), "temperature");
    assertInvalid(serving.completion(chat("flywheel", "hi", "top_p", 1.5)), "top_p");
    assertInvalid(serving.completion(chat("flywheel", "hi", "n", 0)), "n");
    assertInvalid(serving.completion(chat("flywheel", "hi", "n", 50)), "n");
    assertInvalid(serving.completion(chat("flywheel", "hi", "n", 1.5)), "n");
    assertInvalid(serving.completion(chat("flywheel", "hi", "max_tokens", 0)), "max_tokens");
    assertInvalid(
        serving.completion(chat("flywheel", "hi", "max_completion_tokens", -3)),
        "max_completion_tokens");
    assertInvalid(
        serving.completion(chat("flywheel", "hi", "stop", List.of("a", "b", "c", "d", "e"))),
        "stop");
    assertInvalid(serving.completion(chat("flywheel", "hi", "seed", "x")), "seed");
    assertInvalid(serving.completion(chat("flywheel", "hi", "seed", 1L << 53)), "seed");
    assertInvalid(serving.completion(chat("flywheel", "hi", "seed", -(1L << 53))), "seed");
    assertInvalid(serving.completion(chat("flywheel", "hi", "stream", "yes")), "stream");
    assertInvalid(
        serving.completion(chat("flywheel", "hi", "stream_options", Map.of("include_usage", true))),
        "stream_options");
    assertInvalid(
        serving.completion(chat("flywheel", "hi", "tools", List.of(Map.of("type", "function")))),
        "tools");
    assertInvalid(serving.completion(chat("flywheel", "hi", "logprobs", true)), "logprobs");
    assertInvalid(serving.completion(chat("flywheel", "hi", "frobnicate", 1)), "frobnicate");
    assertInvalid(
        serving.completion(Map.of("messages", List.of(Map.of("role", "user", "content", "x")))),
        "model");
    assertInvalid(serving.completion(Map.of("model", "flywheel")), "messages");
    assertInvalid(
        serving.completion(
            Map.of(
                "model", "flywheel", "messages", List.of(Map.of("role", "robot", "content", "x")))),
        "messages[0].role");
    assertInvalid(
        serving.completion(
            Map.of(
                "model",
                "flywheel",
                "messages",
                List.of(Map.of("role", "user", "content", "x"), Map.of("role", "assistant")))),
        "messages[1].content");
    assertInvalid(
        serving.completion(
            Map.of(
                "model",
                "flywheel",
                "messages",
                List.of(Map.of("role", "system", "content", "be nice")))),
        "messages");
    assertInvalid(serving.completion("{not json"), null);
    // a prompt longer than the tiny model's 64-token context
    Reply tooLong = serving.completion(chat("flywheel", "x".repeat(200)));
    assertInvalid(tooLong, "messages");
    assertEquals("context_length_exceeded", tooLong.error().get("code").asText());
  }

  @Test
  void maxTokensAndStopSequencesAreBounded() {
    // max-tokens-limit (default 4096) bounds both spellings; below it the context still caps
    // silently
    assertInvalid(serving.completion(chat("flywheel", "hi", "max_tokens", 4097)), "max_tokens");
    assertInvalid(
        serving.completion(chat("flywheel", "hi", "max_completion_tokens", 1_000_000)),
        "max_completion_tokens");
    assertInvalid(
        serving.completion(chat("flywheel", "hi", "max_tokens", Integer.MAX_VALUE)), "max_tokens");
    Reply capped = serving.completion(chat("flywheel", "hi", "max_tokens", 4096, "temperature", 0));
    assertEquals(200, capped.status(), capped.text());
    // max-stop-length (default 256 characters) bounds each stop sequence
    assertInvalid(serving.completion(chat("flywheel", "hi", "stop", "s".repeat(257))), "stop");
    assertInvalid(
        serving.completion(chat("flywheel", "hi", "stop", List.of("ok", "s".repeat(257)))),
        "stop[1]");
    assertEquals(
        200,
        serving
            .completion(chat("flywheel", "hi", "max_tokens", 2, "stop", "s".repeat(256)))
            .status());
  }

  /** A chat body as raw JSON text: {@code content} is inserted as is (already escaped). */
  static String rawChat(String content, String extra) {
    return "{\"model\":\"flywheel\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":"
        + content
        + "}]"
        + extra
        + "}";
  }

  @Test
  void nulAndLoneSurrogatesAreRefusedNamingTheParam() {
    assertInvalid(serving.completion(chat("flywheel", "a\u0000b")), "messages[0].content");
    assertInvalid(serving.completion(rawChat("\"lone \\ud800 high\"", "")), "messages[0].content");
    assertInvalid(serving.completion(rawChat("\"lone \\udc00 low\"", "")), "messages[0].content");
    assertInvalid(serving.completion(rawChat("\"ends \\ud83d\"", "")), "messages[0].content");
    assertInvalid(
        serving.completion(
            rawChat(
                "[{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"text\","
                    + "\"text\":\"\\udc00\\ud800\"}]",
                "")),
        "messages[0].content[1].text");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"stop\":\"\\ud800\"")), "stop");
    assertInvalid(
        serving.completion(rawChat("\"hi\"", ",\"stop\":[\"x\",\"\\u0000\"]")), "stop[1]");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"user\":\"u\\u0000\"")), "user");
    assertInvalid(
        serving.completion(rawChat("\"hi\"", ",\"metadata\":{\"conversation_id\":\"c\\udfff\"}")),
        "metadata.conversation_id");
    // a surrogate as UTF-8 bytes (CESU-8 ED A0 80) and a stray byte are not UTF-8: 400, not U+FFFD
    byte[] body = rawChat("\"bad X\"", "").getBytes(StandardCharsets.UTF_8);
    assertInvalid(
        serving.postBytes(
            "/v1/chat/completions",
            TestServing.KEY,
            replaceX(body, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})),
        null);
    assertInvalid(
        serving.postBytes(
            "/v1/chat/completions", TestServing.KEY, replaceX(body, new byte[] {(byte) 0xFF})),
        null);
    // a surrogate pair is one ordinary character
    assertEquals(200, serving.completion(rawChat("\"smile \\ud83d\\ude00\"", "")).status());
    assertEquals(
        200, serving.completion(chat("flywheel", "smile \uD83D\uDE00", "max_tokens", 2)).status());
  }

  static byte[] replaceX(byte[] body, byte[] with) {
    String s = new String(body, StandardCharsets.ISO_8859_1);
    return s.replace("X", new String(with, StandardCharsets.ISO_8859_1))
        .getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void hugeNumbersAndDeepNestingAre400() {
    String digits = "9".repeat(5000);
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"n\":99999999999999999999")), "n");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"n\":1e400")), "n");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"n\":1e-400")), "n");
    assertInvalid(
        serving.completion(rawChat("\"hi\"", ",\"max_completion_tokens\":1e400")),
        "max_completion_tokens");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"seed\":99999999999999999999")), "seed");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"seed\":-1e400")), "seed");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"temperature\":1e400")), "temperature");
    assertInvalid(serving.completion(rawChat("\"hi\"", ",\"top_p\":-1e400")), "top_p");
    assertEquals(400, serving.completion(rawChat("\"hi\"", ",\"seed\":" + digits)).status());
    assertEquals(
        400, serving.completion(rawChat("\"hi\"", ",\"temperature\":0." + digits)).status());
    for (int depth : new int[] {200, 5_000, 100_000}) {
      String nested = "[".repeat(depth) + "]".repeat(depth);
      Reply deep = serving.completion(rawChat("\"hi\"", ",\"metadata\":{\"x\":" + nested + "}"));
      assertEquals(400, deep.status(), depth + ": " + deep.text());
      assertNotNull(deep.error(), deep.text());
      Reply deepContent = serving.completion(rawChat(nested, ""));
      assertEquals(400, deepContent.status(), depth + ": " + deepContent.text());
      // 'store' takes any value (it has no effect): only nesting beyond the parser's limit (1000)
      // is refused
      Reply deepObjects =
          serving.completion(
              rawChat("\"hi\"", ",\"store\":" + "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)));
      assertEquals(
          depth > 1000 ? 400 : 200, deepObjects.status(), depth + ": " + deepObjects.text());
    }
  }

  @Test
  void contentPartsAndSystemMessagesAreAccepted() {
    Reply reply =
        serving.completion(
            Map.of(
                "model",
                "flywheel-live",
                "max_tokens",
                4,
                "messages",
                List.of(
                    Map.of("role", "developer", "content", "Be brief."),
                    Map.of(
                        "role", "user", "content", List.of(Map.of("type", "text", "text", "Hi"))),
                    Map.of("role", "assistant", "content", "Hello"),
                    Map.of("role", "user", "content", "Bye")),
                "frequency_penalty",
                0,
                "presence_penalty",
                0,
                "store",
                false,
                "user",
                "u-1"));
    assertEquals(200, reply.status(), reply.text());
  }

  @Test
  void unknownModelIs404() {
    Reply reply = serving.completion(chat("gpt-4o", "hi"));
    assertEquals(404, reply.status(), reply.text());
    assertEquals("model_not_found", reply.error().get("code").asText());
    assertEquals("invalid_request_error", reply.error().get("type").asText());
    assertEquals("model", reply.error().get("param").asText());
    assertEquals(404, serving.completion(chat("policy-v99", "hi")).status());
    assertEquals(
        404, serving.completion(chat("flywheel-canary", "hi")).status(), "no canary loaded");
    assertEquals(200, serving.completion(chat("policy-v1", "hi", "max_tokens", 2)).status());
  }

  @Test
  void missingOrUnknownKeyIs401InOpenAiShape() {
    for (Reply reply :
        List.of(
            serving.post("/v1/chat/completions", null, chat("flywheel", "hi")),
            serving.post("/v1/chat/completions", ApiKeys.generate(), chat("flywheel", "hi")),
            serving.get("/v1/models", null))) {
      assertEquals(401, reply.status(), reply.text());
      assertEquals("invalid_api_key", reply.error().get("code").asText(), reply.text());
      assertEquals("invalid_request_error", reply.error().get("type").asText());
      assertTrue(reply.error().has("param"));
      assertTrue(reply.header("WWW-Authenticate").startsWith("Bearer"));
    }
    Reply forbidden =
        serving.post("/v1/chat/completions", TestServing.READER_KEY, chat("flywheel", "hi"));
    assertEquals(403, forbidden.status(), forbidden.text());
    assertEquals("permission_error", forbidden.error().get("type").asText());
  }

  @Test
  void unknownRouteIsAnOpenAiError() {
    Reply reply = serving.post("/v1/completions-nope", TestServing.KEY, Map.of());
    assertEquals(404, reply.status(), reply.text());
    assertNotNull(reply.error(), reply.text());
    assertEquals("invalid_request_error", reply.error().get("type").asText());
  }

  @Test
  void modelsListsLiveVersionAndAliases() {
    Reply reply = serving.get("/v1/models", TestServing.KEY);
    assertEquals(200, reply.status(), reply.text());
    assertEquals("list", reply.json().get("object").asText());
    Map<String, JsonNode> byId = new HashMap<>();
    for (JsonNode model : reply.json().get("data")) {
      assertEquals("model", model.get("object").asText());
      assertEquals("flywheel", model.get("owned_by").asText());
      assertTrue(model.get("created").asLong() > 0);
      byId.put(model.get("id").asText(), model);
    }
    assertEquals(Set.of("policy-v1", "flywheel", "flywheel-live"), byId.keySet());
    assertEquals("LIVE", byId.get("policy-v1").get("status").asText());
    assertEquals("live", byId.get("policy-v1").get("role").asText());
    assertEquals(1, byId.get("flywheel").get("version").asLong());
    assertEquals(200, serving.get("/v1/models/policy-v1", TestServing.KEY).status());
    assertEquals(404, serving.get("/v1/models/policy-v7", TestServing.KEY).status());
  }

  @Test
  void healthSaysAModelIsLoadedAndMetricsAreExported() {
    Reply health = serving.get("/health", null);
    assertEquals(200, health.status(), health.text());
    assertEquals("UP", health.json().get("status").asText());
    JsonNode models = health.json().get("details").get("models");
    assertEquals(true, models.get("details").get("modelLoaded").asBoolean(), health.text());
    assertEquals("policy-v1", models.get("details").get("liveVersion").asText());

    serving.completion(chat("flywheel", "metrics", "max_tokens", 3));
    Reply prometheus = serving.get("/prometheus", null);
    assertEquals(200, prometheus.status());
    for (String metric :
        List.of(
            "flywheel_serving_requests_total",
            "flywheel_serving_tokens_generated_total",
            "flywheel_serving_batch_rows",
            "flywheel_serving_queue_rows",
            "flywheel_serving_request_latency_seconds",
            "flywheel_serving_live_version",
            "flywheel_serving_transcripts_total")) {
      assertTrue(prometheus.text().contains(metric), metric + " missing");
    }
    assertTrue(
        prometheus.text().contains("flywheel_serving_live_version 1.0"), "live version gauge");
  }
}
