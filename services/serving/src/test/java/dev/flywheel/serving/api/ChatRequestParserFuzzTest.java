package dev.flywheel.serving.api;

import static dev.flywheel.serving.api.ChatRequestFuzzBodies.KNOWN;
import static dev.flywheel.serving.api.ChatRequestFuzzBodies.MAX_N;
import static dev.flywheel.serving.api.ChatRequestFuzzBodies.MAX_STOP_LENGTH;
import static dev.flywheel.serving.api.ChatRequestFuzzBodies.MAX_TOKENS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.model.ChatRole;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.schemas.Texts;
import dev.flywheel.testing.Fuzz;
import io.micronaut.http.HttpStatus;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Property-based tests of {@link ChatRequestParser}, the chat completion body's validation, on JSON
 * trees read by the service's own JSON mapper (no server, no model; tries per property in CI,
 * {@code -Dflywheel.fuzz.scale=100} for a long run, see {@link Fuzz}):
 *
 * <ul>
 *   <li>any JSON body is either a request within every limit (n, temperature, top_p, max_tokens,
 *       stop, seed, user, texts free of NUL and lone surrogates, a user prompt) or a 400 {@code
 *       invalid_request_error} whose {@code param} names a parameter of the API or the unknown key
 *       the body holds — never another exception (which the controller would answer as a 500);
 *   <li>a valid request with one parameter replaced by any JSON value is either still valid or a
 *       400 naming exactly that parameter;
 *   <li>valid requests are read back field for field.
 * </ul>
 */
class ChatRequestParserFuzzTest {

  private static io.micronaut.serde.ObjectMapper.CloseableObjectMapper json;
  private final ChatRequestParser parser =
      new ChatRequestParser(MAX_N, MAX_TOKENS, MAX_STOP_LENGTH);

  @BeforeAll
  static void mapper() {
    // the serde mapper the service reads bodies with (micronaut-serde-jackson, default settings)
    json = io.micronaut.serde.ObjectMapper.create(Map.of());
  }

  @AfterAll
  static void close() {
    json.close();
  }

  @Test
  void anyBodyIsARequestWithinLimitsOrA400NamingTheParameter() {
    Map<String, Integer> outcomes =
        Fuzz.check(
            "any body",
            1500,
            gen -> gen.chance(0.85) ? ChatRequestFuzzBodies.any(gen) : gen.json(3),
            ChatRequestParserFuzzTest::show,
            body -> {
              JsonNode tree = tree(json, body);
              try {
                ChatRequest request = parser.parse(tree);
                assertWithinLimits(request);
                return "parsed";
              } catch (OpenAiException e) {
                String root = assert400(e, body);
                if (body instanceof Map<?, ?> object) {
                  assertNotNull(
                      root, "a 400 for a JSON object names the parameter: " + e.getMessage());
                  assertTrue(
                      KNOWN.contains(root)
                          || object.keySet().stream()
                              .anyMatch(
                                  k ->
                                      !KNOWN.contains(k)
                                          && ChatRequestParser.shown((String) k).equals(e.param())),
                      "param '" + e.param() + "' is a parameter of the API or a key of the body");
                }
                return root == null || KNOWN.contains(root)
                    ? "400 " + root
                    : "400 unknown parameter";
              }
            });
    assertTrue(outcomes.getOrDefault("parsed", 0) > 0, "some bodies were valid: " + outcomes);
    assertTrue(
        outcomes.keySet().stream().filter(k -> k.startsWith("400 ")).count() > 10,
        outcomes::toString);
  }

  @Test
  void oneParameterChangedIsStillValidOrA400NamingThatParameter() {
    record Changed(Map<String, Object> body, String key) {}
    Map<String, Integer> outcomes =
        Fuzz.check(
            "one parameter changed",
            1500,
            gen -> {
              Map<String, Object> body = ChatRequestFuzzBodies.valid(gen);
              String key = gen.chance(0.9) ? gen.pick(KNOWN) : gen.text(20);
              if (key.equals("stream")) {
                body.remove(
                    "stream_options"); // else stream: false would be refused as stream_options
              }
              body.put(
                  key, gen.chance(0.5) ? gen.json(3) : ChatRequestFuzzBodies.plausible(gen, key));
              return new Changed(body, key);
            },
            c -> c.key() + " in " + show(c.body()),
            changed -> {
              JsonNode tree = tree(json, changed.body());
              try {
                assertWithinLimits(parser.parse(tree));
                return "valid";
              } catch (OpenAiException e) {
                String root = assert400(e, changed.body());
                String expected =
                    KNOWN.contains(changed.key())
                        ? changed.key()
                        : ChatRequestParser.shown(changed.key());
                assertEquals(
                    expected, root, () -> "the 400 names the changed parameter: " + e.getMessage());
                return "400";
              }
            });
    assertTrue(
        outcomes.getOrDefault("valid", 0) > 0 && outcomes.getOrDefault("400", 0) > 0,
        outcomes::toString);
  }

  @Test
  void validRequestsAreReadBackFieldForField() {
    Fuzz.check(
        "valid requests",
        1000,
        ChatRequestFuzzBodies::validRequest,
        v -> show(v.body()),
        valid -> {
          ChatRequest r = parser.parse(tree(json, valid.body()));
          ChatRequest e = valid.expected();
          assertEquals(e.model(), r.model());
          assertEquals(e.turns(), r.turns());
          assertEquals(e.prompt(), r.prompt());
          assertEquals(e.n(), r.n());
          assertEquals(e.temperature(), r.temperature());
          assertEquals(e.topP(), r.topP());
          assertEquals(e.maxTokens(), r.maxTokens());
          assertEquals(e.maxTokensParam(), r.maxTokensParam());
          assertEquals(e.stop(), r.stop());
          assertEquals(e.seed(), r.seed());
          assertEquals(e.user(), r.user());
          assertEquals(e.stream(), r.stream());
          assertEquals(e.includeUsage(), r.includeUsage());
          assertEquals(e.conversationId(), r.conversationId());
          return null;
        });
  }

  @Test
  void modalitiesThatAreNotAnArrayAreA400() throws IOException {
    // found by the properties above: values() of a scalar threw IllegalStateException, which was a
    // 500
    for (Object modalities : new Object[] {"text", 5, true, Map.of("type", "text")}) {
      OpenAiException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              OpenAiException.class,
              () ->
                  parser.parse(
                      tree(
                          json,
                          Map.of(
                              "model",
                              "flywheel",
                              "messages",
                              List.of(Map.of("role", "user", "content", "hi")),
                              "modalities",
                              modalities))));
      assertEquals("modalities", assert400(e, Map.of()));
    }
  }

  // ------------------------------------------------------------------------------------------
  // checks

  /** Every limit the API documents, on a request the parser accepted. */
  static void assertWithinLimits(ChatRequest r) {
    assertTrue(
        !r.model().isBlank() && r.model().length() <= ChatRequestParser.MAX_MODEL_LENGTH,
        r.model());
    assertValidText(r.model());
    assertTrue(!r.turns().isEmpty());
    r.turns().forEach(t -> assertValidText(t.text()));
    ChatTurn lastUser =
        r.turns().stream().filter(t -> t.role() == ChatRole.USER).reduce((a, b) -> b).orElseThrow();
    assertEquals(lastUser.text(), r.prompt());
    assertTrue(r.n() >= 1 && r.n() <= MAX_N, "n " + r.n());
    assertTrue(r.temperature() >= 0 && r.temperature() <= 2, "temperature " + r.temperature());
    assertTrue(r.topP() >= 0 && r.topP() <= 1, "top_p " + r.topP());
    if (r.maxTokens() == null) {
      assertNull(r.maxTokensParam());
    } else {
      assertTrue(r.maxTokens() >= 1 && r.maxTokens() <= MAX_TOKENS, "max tokens " + r.maxTokens());
      assertTrue(List.of("max_tokens", "max_completion_tokens").contains(r.maxTokensParam()));
    }
    assertTrue(r.stop().size() <= ChatRequestParser.MAX_STOP, "stop " + r.stop().size());
    for (String s : r.stop()) {
      assertTrue(!s.isEmpty() && s.length() <= MAX_STOP_LENGTH, "stop sequence of " + s.length());
      assertValidText(s);
    }
    assertTrue(
        r.seed() == null || Math.abs(r.seed()) <= ChatRequestParser.MAX_SAFE_SEED,
        "seed " + r.seed());
    if (r.user() != null) {
      assertTrue(r.user().length() <= ChatRequestParser.MAX_USER_LENGTH);
      assertValidText(r.user());
    }
    assertTrue(!r.includeUsage() || r.stream(), "include_usage only when streaming");
    if (r.conversationId() != null) {
      assertTrue(r.conversationId().length() <= ChatRequestParser.MAX_METADATA_VALUE_LENGTH);
      assertValidText(r.conversationId());
    }
  }

  private static void assertValidText(String s) {
    assertEquals(
        -1, Texts.invalidCharAt(s), () -> "NUL or a lone surrogate in accepted text: " + show(s));
  }

  /**
   * A 400 invalid_request_error; returns the parameter its param names (the part before any '.' or
   * '[' of an API parameter, or the whole of an unknown key of {@code body}), or null.
   */
  static String assert400(OpenAiException e, Object body) {
    assertEquals(HttpStatus.BAD_REQUEST, e.status(), e::getMessage);
    assertEquals("invalid_request_error", e.type());
    assertNotNull(e.getMessage());
    if (e.param() == null) {
      return null;
    }
    if (body instanceof Map<?, ?> object
        && object.keySet().stream()
            .anyMatch(
                k -> !KNOWN.contains(k) && ChatRequestParser.shown((String) k).equals(e.param()))) {
      return e.param();
    }
    int end = e.param().length();
    for (char c : new char[] {'.', '['}) {
      int at = e.param().indexOf(c);
      if (at > 0 && at < end && KNOWN.contains(e.param().substring(0, at))) {
        end = at;
      }
    }
    return e.param().substring(0, end);
  }

  // ------------------------------------------------------------------------------------------ JSON

  /**
   * The value as the service reads it: JSON text (non-ASCII escaped) read by the service's mapper.
   */
  static JsonNode tree(JsonMapper mapper, Object value) throws IOException {
    return mapper.readValue(
        ChatRequestFuzzBodies.ESCAPED.writeValueAsString(value), JsonNode.class);
  }

  static String show(Object value) {
    try {
      return ChatRequestFuzzBodies.ESCAPED.writeValueAsString(value);
    } catch (IOException e) {
      return Objects.toString(value);
    }
  }
}
