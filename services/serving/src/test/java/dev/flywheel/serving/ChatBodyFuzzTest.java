package dev.flywheel.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.serving.api.ChatRequestFuzzBodies;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.testing.Fuzz;
import dev.flywheel.testing.Gen;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Property-based test of {@code POST /v1/chat/completions} over HTTP: bytes that are not UTF-8,
 * JSON that is cut or has bytes changed, nesting beyond the parser's limit, and JSON objects from
 * valid to garbage. No model is loaded, so a body that passes validation is answered 503 {@code
 * no_live_version} (or 404 for a model name that is not loaded) without decoding; every other body
 * is a 400 in OpenAI's error shape, naming the parameter whenever the body was a JSON object. Never
 * a 500. Few tries (each is an HTTP request); {@code ChatRequestParserFuzzTest} runs the parser
 * itself many more times.
 */
@ExtendWith(FlywheelInfraExtension.class)
class ChatBodyFuzzTest {

  static TestServing serving;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    serving = new TestServing(infra, Map.of());
  }

  @AfterAll
  static void stop() {
    serving.close();
  }

  /** Raw body bytes, and whether they are an intact JSON object. */
  record Body(byte[] bytes, boolean object) {
    @Override
    public String toString() {
      String text = new String(bytes, StandardCharsets.UTF_8);
      return Arrays.equals(text.getBytes(StandardCharsets.UTF_8), bytes)
          ? text
          : "bytes " + HexFormat.of().formatHex(bytes);
    }
  }

  @Test
  void anyBodyIsA400NamingTheParameterOrPassesValidationNeverA500() {
    Map<String, Integer> outcomes =
        Fuzz.check(
            "any chat body over HTTP",
            300,
            ChatBodyFuzzTest::body,
            body -> {
              Reply reply =
                  serving.postBytes("/v1/chat/completions", TestServing.KEY, body.bytes());
              assertNotNull(reply.json(), () -> "a JSON answer: " + reply);
              JsonNode error = reply.json().path("error");
              assertTrue(
                  error.isObject() && error.hasNonNull("message") && error.hasNonNull("type"),
                  () -> "OpenAI's error shape: " + reply);
              switch (reply.status()) {
                case 400 -> {
                  assertEquals(
                      "invalid_request_error", error.path("type").asText(), reply::toString);
                  if (body.object()) {
                    assertTrue(
                        error.hasNonNull("param"),
                        () -> "a 400 for a JSON object names the parameter: " + reply);
                  }
                  return "400 " + (error.hasNonNull("param") ? "param" : "body");
                }
                case 404 -> {
                  assertEquals("model_not_found", error.path("code").asText(), reply::toString);
                  return "valid, 404 model";
                }
                case 503 -> {
                  assertEquals("no_live_version", error.path("code").asText(), reply::toString);
                  return "valid, 503 no model";
                }
                default -> throw new AssertionError("unexpected status: " + reply);
              }
            });
    assertTrue(
        outcomes.getOrDefault("valid, 503 no model", 0) > 0
            && outcomes.getOrDefault("400 param", 0) > 0
            && outcomes.getOrDefault("400 body", 0) > 0,
        outcomes::toString);
  }

  static Body body(Gen gen) {
    try {
      switch (gen.between(0, 9)) {
        case 0 -> {
          return new Body(gen.bytes(300), false);
        }
        case 1 -> { // a valid body cut, or with bytes changed
          byte[] bytes = ChatRequestFuzzBodies.text(ChatRequestFuzzBodies.valid(gen), false);
          if (gen.chance(0.5)) {
            return new Body(Arrays.copyOf(bytes, gen.between(0, bytes.length - 1)), false);
          }
          for (int i = gen.between(1, 3); i > 0; i--) {
            bytes[gen.between(0, bytes.length - 1)] = (byte) gen.between(0, 255);
          }
          return new Body(bytes, false);
        }
        case 2 -> {
          int depth = gen.oneOf(999, 1001, 5000);
          return new Body(
              ("{\"model\":\"flywheel\",\"messages\":"
                      + "[".repeat(depth)
                      + "]".repeat(depth)
                      + "}")
                  .getBytes(StandardCharsets.UTF_8),
              false);
        }
        case 3 -> {
          Object any = gen.json(4);
          return new Body(ChatRequestFuzzBodies.text(any, gen.chance(0.5)), any instanceof Map);
        }
        default -> {
          Map<String, Object> object =
              gen.chance(0.3) ? ChatRequestFuzzBodies.valid(gen) : ChatRequestFuzzBodies.any(gen);
          return new Body(ChatRequestFuzzBodies.text(object, gen.chance(0.5)), true);
        }
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
