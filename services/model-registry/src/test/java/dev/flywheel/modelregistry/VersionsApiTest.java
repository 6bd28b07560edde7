package dev.flywheel.modelregistry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Versions published to the topics appear in the API with their lineage, and survive a restart. */
@ExtendWith(FlywheelInfraExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VersionsApiTest {

  static RegistryHarness registry;

  @BeforeAll
  static void start(FlywheelInfra infra, @TempDir Path artifacts) {
    registry = new RegistryHarness(infra, artifacts);
    registry.publishStandardHistory();
    registry.start();
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  static List<Long> versions(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false)
        .map(n -> n.path("version").asLong())
        .toList();
  }

  @Test
  @Order(1)
  void listsEveryVersionWithItsLatestStatus() {
    JsonNode policies = registry.getJson("/api/versions/policy");
    assertEquals(List.of(1L, 2L, 3L), versions(policies.path("versions")));
    JsonNode v2 = policies.path("versions").get(1);
    assertEquals("ROLLED_BACK", v2.path("status").asText(), "the latest event per version wins");
    assertEquals(
        List.of("CANDIDATE", "LIVE", "ROLLED_BACK"),
        StreamSupport.stream(v2.path("history").spliterator(), false)
            .map(h -> h.path("status").asText())
            .toList());
    assertEquals("PPO", v2.path("stage").asText());
    assertEquals(1L, v2.path("rewardModelVersion").asLong());
    assertEquals("file:///nonexistent/policy/v2", v2.path("artifactUri").asText());
    assertEquals("1".repeat(64), v2.path("artifactSha256").asText());
    assertEquals(0.2, v2.path("metrics").path("mean_reward").asDouble(), 1e-9);
    assertEquals("0.02", v2.path("hyperparameters").path("kl_coef").asText());
    assertTrue(v2.path("createdAt").asText().startsWith("2025-03-01T"));

    JsonNode rewards = registry.getJson("/api/versions/reward");
    assertEquals(List.of(1L, 2L), versions(rewards.path("versions")));
    JsonNode rm2 = registry.getJson("/api/versions/reward/2");
    assertEquals("LIVE", rm2.path("status").asText());
    assertEquals(1L, rm2.path("parentVersion").asLong());
    assertEquals(0.68, rm2.path("metrics").path("eval_accuracy").asDouble(), 1e-9);
    assertEquals(0.5, rm2.path("rewardOffset").asDouble(), 1e-9);
    assertEquals(2, rm2.path("trainingData").size());

    assertEquals(404, registry.get("/api/versions/policy/99").statusCode());
    assertEquals(404, registry.get("/api/versions/critic").statusCode());
  }

  @Test
  @Order(2)
  void policyLineageReachesTheRewardModelChainAndTheSftRoot() {
    JsonNode lineage = registry.getJson("/api/versions/policy/3/lineage");
    assertEquals(3, lineage.path("policy").path("version").asLong());
    assertEquals(2, lineage.path("rewardModel").path("version").asLong());
    JsonNode chain = lineage.path("rewardModelChain");
    assertEquals(List.of(2L, 1L), versions(chain));
    JsonNode rm2Data = chain.get(0).path("trainingData");
    assertEquals("training.comparisons", rm2Data.get(0).path("topic").asText());
    assertEquals(120, rm2Data.get(0).path("fromOffset").asLong());
    assertEquals(300, rm2Data.get(0).path("untilOffset").asLong());
    assertEquals(1, rm2Data.get(1).path("partition").asInt());
    assertEquals(80, rm2Data.get(1).path("records").asLong());
    JsonNode rm1Data = chain.get(1).path("trainingData");
    assertEquals(0, rm1Data.get(0).path("fromOffset").asLong());
    assertEquals(120, rm1Data.get(0).path("untilOffset").asLong());
    assertEquals(List.of(2L, 1L), versions(lineage.path("policyAncestors")));
    assertEquals(1, lineage.path("sftRoots").size());
    assertEquals(1, lineage.path("sftRoots").get(0).asLong());
    assertEquals("SFT", lineage.path("policyAncestors").get(1).path("stage").asText());
    assertEquals(0, lineage.path("missing").size());

    JsonNode rmLineage = registry.getJson("/api/versions/reward/2/lineage");
    assertEquals(List.of(2L, 1L), versions(rmLineage.path("chain")));
    assertEquals(404, registry.get("/api/versions/policy/42/lineage").statusCode());
  }

  @Test
  @Order(3)
  void liveShowsLiveAndCandidatePolicies() {
    JsonNode live = registry.getJson("/api/live");
    assertEquals(List.of(1L), versions(live.path("policy").path("live")));
    assertEquals(List.of(3L), versions(live.path("policy").path("candidates")));
    assertEquals(List.of(2L, 1L), versions(live.path("reward").path("live")));
  }

  @Test
  @Order(4)
  void metricsAreServedTimeOrderedAndPerRound() {
    JsonNode points = registry.getJson("/api/metrics?source=policy-trainer&phase=ppo&version=3");
    assertEquals(6, points.path("count").asInt());
    long previous = Long.MIN_VALUE;
    for (JsonNode p : points.path("points")) {
      assertTrue(p.path("t").asLong() >= previous, "time-ordered");
      previous = p.path("t").asLong();
      assertTrue(p.path("values").has("kl"));
    }
    JsonNode rounds = registry.getJson("/api/metrics/rounds?source=policy-trainer&phase=ppo");
    assertEquals(3, rounds.path("count").asInt());
    JsonNode r2 = rounds.path("rounds").get(1);
    assertEquals(2, r2.path("round").asLong());
    assertEquals(2, r2.path("count").asLong());
    assertEquals(0.205, r2.path("mean").path("mean_reward").asDouble(), 1e-9);
    assertEquals(0.21, r2.path("last").path("mean_reward").asDouble(), 1e-9);
    assertEquals(0, registry.getJson("/api/metrics?source=nobody").path("count").asInt());
    JsonNode agreement = registry.getJson("/api/metrics?phase=agreement");
    assertEquals(2, agreement.path("count").asInt());
  }

  @Test
  @Order(4)
  void theMetricsLimitIsBounded() {
    JsonNode two =
        registry.getJson("/api/metrics?source=policy-trainer&phase=ppo&version=3&limit=2");
    assertEquals(2, two.path("count").asInt());
    assertEquals(
        200, registry.get("/api/metrics?limit=20000").statusCode(), "max-limit itself is allowed");
    assertEquals(
        registry.getJson("/api/metrics?limit=20000"),
        registry.getJson("/api/metrics"),
        "fewer points than the default limit (5000) exist: both answer all of them");
    // 0 and negative limits used to mean "everything"; beyond max-limit (20000) or not an int: 400
    // naming limit
    for (String limit :
        List.of("0", "-1", "20001", "2147483648", "99999999999999999999", "1e3", "ten")) {
      HttpResponse<byte[]> r = registry.get("/api/metrics?limit=" + limit);
      assertEquals(400, r.statusCode(), limit + ": " + new String(r.body()));
      JsonNode error = RegistryHarness.parse(r.body());
      assertEquals("limit", error.path("field").asText(), limit + ": " + error);
      assertEquals("invalid_value", error.path("error").asText(), limit + ": " + error);
    }
  }

  @Test
  @Order(5)
  void healthAndPrometheus() {
    assertEquals(200, registry.get("/health").statusCode());
    assertEquals(200, registry.get("/health/readiness").statusCode());
    assertEquals(200, registry.get("/health/liveness").statusCode());
    JsonNode health = registry.getJson("/health");
    assertEquals(
        "CAUGHT_UP",
        health.path("details").path("materializer").path("details").path("phase").asText());
    String prometheus = new String(registry.get("/prometheus").body());
    assertTrue(
        prometheus.contains("flywheel_registry_versions{kind=\"policy\",status=\"CANDIDATE\"} 1.0")
            || prometheus.contains(
                "flywheel_registry_versions{kind=\"policy\",status=\"CANDIDATE\",} 1.0"),
        prometheus.lines().filter(l -> l.contains("flywheel_registry")).toList().toString());
    assertTrue(prometheus.contains("flywheel_registry_caught_up"));
  }

  @Test
  @Order(6)
  void aRestartedServiceGivesTheSameAnswers() {
    List<String> paths =
        List.of(
            "/api/versions/policy",
            "/api/versions/reward",
            "/api/versions/policy/3/lineage",
            "/api/live",
            "/api/metrics?source=policy-trainer&phase=ppo",
            "/api/metrics/rounds",
            "/api/control");
    Map<String, JsonNode> before = new LinkedHashMap<>();
    for (String p : paths) {
      before.put(p, registry.getJson(p));
    }
    registry.stop();
    registry.start();
    List<String> differing = new ArrayList<>();
    for (String p : paths) {
      if (!before.get(p).equals(registry.getJson(p))) {
        differing.add(p);
      }
    }
    assertEquals(List.of(), differing, "answers changed across a restart");
    assertEquals(
        List.of(1L, 2L, 3L), versions(registry.getJson("/api/versions/policy").path("versions")));

    // and it keeps following the topics after the restart
    registry.publish(
        RegistryHarness.policy(
            4,
            dev.flywheel.events.PolicyStage.PPO,
            List.of(3L, 1L),
            2L,
            dev.flywheel.events.ModelStatus.CANDIDATE,
            20));
    registry.awaitJson("/api/versions/policy", j -> j.path("count").asInt() == 4);
  }
}
