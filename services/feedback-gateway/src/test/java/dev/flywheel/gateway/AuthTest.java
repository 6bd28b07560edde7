package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.kit.auth.ApiKeys;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * 401 without a known key, 403 for a key without the route's scope; nothing is written either way.
 */
@ExtendWith(FlywheelInfraExtension.class)
class AuthTest {

  static TestGateway gateway;
  static FlywheelInfra infra;
  static final List<String> refusedIds = new ArrayList<>();

  @BeforeAll
  static void start(FlywheelInfra flywheelInfra) {
    infra = flywheelInfra;
    gateway = new TestGateway(infra);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static Map<String, Object> ranking() {
    String id = "auth-" + UUID.randomUUID();
    refusedIds.add(id);
    return Map.of(
        "eventId",
        id,
        "transcriptId",
        "t",
        "tiers",
        List.of(List.of("a"), List.of("b")),
        "annotatorId",
        "x");
  }

  static Map<String, Object> transcript() {
    String id = "auth-" + UUID.randomUUID();
    refusedIds.add(id);
    return Map.of(
        "eventId",
        id,
        "transcriptId",
        "t",
        "turns",
        List.of(Map.of("role", "user", "text", "q")),
        "responses",
        List.of(Map.of("responseId", "a", "text", "b")));
  }

  static void assertUnauthorized(Reply reply) {
    assertEquals(401, reply.status(), reply.text());
    assertEquals("unauthorized", reply.json().get("error").asText());
    assertTrue(reply.header("WWW-Authenticate").startsWith("Bearer"), reply.headers().toString());
  }

  @Test
  void missingKeyIs401() {
    Reply reply = gateway.post("/v1/rankings", null, ranking());
    assertUnauthorized(reply);
    assertTrue(reply.json().get("message").asText().contains("Authorization: Bearer"));
  }

  @Test
  void nonBearerSchemeIs401() {
    assertUnauthorized(
        gateway.post("/v1/rankings", null, ranking(), "Authorization", "Basic dXNlcjpwYXNz"));
  }

  @Test
  void unknownKeyIs401() {
    Reply reply =
        gateway.post("/v1/rankings:batch", ApiKeys.generate(), Map.of("items", List.of(ranking())));
    assertUnauthorized(reply);
    assertEquals("unknown API key", reply.json().get("message").asText());
    // the hash itself is not a key
    assertUnauthorized(
        gateway.post("/v1/rankings", ApiKeys.sha256Hex(TestGateway.SHOP_KEY), ranking()));
  }

  @Test
  void keyWithoutTheScopeIs403() {
    Reply transcripts = gateway.post("/v1/transcripts", TestGateway.RANKER_KEY, transcript());
    assertEquals(403, transcripts.status(), transcripts.text());
    assertEquals("forbidden", transcripts.json().get("error").asText());
    assertTrue(
        transcripts.json().get("message").asText().contains("transcripts:write"),
        transcripts.text());

    Reply demoBatch =
        gateway.post(
            "/v1/demonstrations:batch", TestGateway.RANKER_KEY, Map.of("items", List.of()));
    assertEquals(403, demoBatch.status(), demoBatch.text());

    Reply noScopes = gateway.post("/v1/rankings", TestGateway.READER_KEY, ranking());
    assertEquals(403, noScopes.status(), noScopes.text());
  }

  @Test
  void authIsCheckedBeforeTheBody() {
    // an unauthenticated caller learns nothing about validation
    Reply reply = gateway.post("/v1/rankings", null, "{not json");
    assertUnauthorized(reply);
  }

  @Test
  void operationalEndpointsNeedNoKey() {
    assertEquals(200, gateway.get("/health").status());
    assertEquals(200, gateway.get("/prometheus").status());
    assertEquals(200, gateway.get("/openapi/feedback-gateway.yml").status());
  }

  @Test
  void nothingRefusedIsWritten() {
    assertEquals(401, gateway.post("/v1/transcripts", null, transcript()).status());
    assertEquals(403, gateway.post("/v1/rankings", TestGateway.READER_KEY, ranking()).status());
    assertTrue(TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, refusedIds).isEmpty());
    assertTrue(TestGateway.byEventId(infra, Topics.CHAT_TRANSCRIPTS, refusedIds).isEmpty());
  }
}
