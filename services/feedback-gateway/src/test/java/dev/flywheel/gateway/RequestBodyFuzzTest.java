package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.flywheel.gateway.FeedbackBodies.Kind;
import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.testing.Fuzz;
import dev.flywheel.testing.Gen;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Property-based test of the whole HTTP path (routing, body decoding, validation, error rendering)
 * with bodies from valid to garbage — random bytes (not UTF-8, not JSON), any JSON value, and valid
 * bodies with one field changed — on every route, single and batch: never a 5xx; a refusal is a 400
 * in the API's error shape, and one that the gateway's rules made ({@code error} other than {@code
 * malformed_request}) names a field of the body. Few tries (each is an HTTP request, and an
 * accepted one a Kafka write); the unit-level {@code EventMapperFuzzTest} runs many more.
 */
@ExtendWith(FlywheelInfraExtension.class)
class RequestBodyFuzzTest {

  static TestGateway gateway;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    gateway =
        new TestGateway(
            infra,
            Map.of(
                "flywheel.gateway.max-text-length", 1024, "flywheel.gateway.max-batch-items", 3));
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  /** One request: route, raw bytes, and whether the body is a JSON object. */
  record Request(String path, byte[] body, boolean object) {
    @Override
    public String toString() {
      String text = new String(body, StandardCharsets.UTF_8);
      return path
          + " "
          + (text.getBytes(StandardCharsets.UTF_8).length == body.length
              ? text
              : "bytes " + HexFormat.of().formatHex(body));
    }
  }

  @Test
  void anyBodyOnAnyRouteIsNeverA5xxAndRefusalsNameTheirField() {
    Map<String, Integer> outcomes =
        Fuzz.check(
            "any body over HTTP",
            300,
            RequestBodyFuzzTest::request,
            request -> {
              Reply reply = gateway.postBytes(request.path(), TestGateway.SHOP_KEY, request.body());
              assertTrue(reply.status() < 500, () -> "no 5xx: " + reply);
              if (reply.status() == 200) {
                return "200";
              }
              assertTrue(
                  List.of(400, 413, 422).contains(reply.status()),
                  () -> "a client error: " + reply);
              assertNotNull(reply.json(), () -> "a JSON error body: " + reply);
              String code = reply.json().path("error").asText(null);
              assertNotNull(code, () -> "an error code: " + reply);
              assertNotNull(reply.json().path("message").asText(null), () -> "a message: " + reply);
              if (request.object() && reply.status() == 400 && !"malformed_request".equals(code)) {
                assertTrue(
                    reply.json().hasNonNull("field"),
                    () -> "a rule's refusal names the field: " + reply);
              }
              return reply.status()
                  + " "
                  + code
                  + (reply.json().hasNonNull("field") ? "" : " (no field)");
            });
    assertTrue(
        outcomes.containsKey("200")
            && outcomes.keySet().stream().anyMatch(k -> k.contains("malformed_request"))
            && outcomes.keySet().stream().filter(k -> k.startsWith("400 ")).count() >= 3,
        outcomes::toString);
  }

  static Request request(Gen gen) {
    Kind kind = gen.pick(List.of(Kind.values()));
    boolean batch = gen.chance(0.25);
    String path = kind.path() + (batch ? ":batch" : "");
    try {
      switch (gen.between(0, 9)) {
        case 0 -> {
          return new Request(path, gen.bytes(200), false);
        }
        case 1 -> {
          Object any = gen.json(4);
          return new Request(path, TestGateway.JSON.writeValueAsBytes(any), any instanceof Map);
        }
        default -> {
          Object body = FeedbackBodies.any(gen, kind);
          if (batch) {
            body =
                Map.of(
                    "items",
                    gen.list(
                        1,
                        4,
                        () ->
                            gen.chance(0.7)
                                ? FeedbackBodies.valid(gen, kind)
                                : FeedbackBodies.any(gen, kind)));
          }
          return new Request(path, TestGateway.JSON.writeValueAsBytes(body), body instanceof Map);
        }
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
