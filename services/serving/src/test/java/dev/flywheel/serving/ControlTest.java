package dev.flywheel.serving;

import static dev.flywheel.serving.TestServing.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ControlAction;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/** models.control: ROLLBACK and PROMOTE take effect within seconds; canary routing; restarts. */
@ExtendWith(FlywheelInfraExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlTest {

  static TestServing serving;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    serving = new TestServing(infra, Map.of("flywheel.serving.canary-share", 0.5));
    serving.artifact("v1", 1);
    serving.artifact("v2", 2);
    serving.artifact("v3", 3);
    serving.publishVersion(1, ModelStatus.LIVE, "v1");
    serving.publishVersion(2, ModelStatus.LIVE, "v2");
    serving.awaitLive(2, Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    serving.close();
  }

  static String answeredBy(String model) {
    Reply reply = serving.completion(chat(model, "who?", "max_tokens", 2));
    assertEquals(200, reply.status(), reply.text());
    return reply.json().get("model").asText();
  }

  /** Seconds until the live alias answers with {@code expected}. */
  static double secondsUntilLiveIs(String expected) {
    long start = System.nanoTime();
    TestServing.await(
        () -> answeredBy("flywheel-live").equals(expected),
        Duration.ofSeconds(20),
        expected + " to answer");
    return (System.nanoTime() - start) / 1e9;
  }

  @Test
  @Order(1)
  void rollbackAndPromoteTakeEffectWithinSeconds() {
    assertEquals("policy-v2", answeredBy("flywheel-live"));
    TestServing.await(
        () -> serving.manager().routing().served().containsKey(1L),
        Duration.ofSeconds(30),
        "v1 loaded as standby");

    serving.publishControl(ControlAction.ROLLBACK, 2);
    double rollback = secondsUntilLiveIs("policy-v1");
    assertTrue(rollback < 3, "rollback took " + rollback + " s");
    serving.publishControl(ControlAction.PROMOTE, 2);
    double promote = secondsUntilLiveIs("policy-v2");
    assertTrue(promote < 10, "promote took " + promote + " s");

    // the statuses were written back to the versions topic for the registry and trainers
    TestServing.await(
        () ->
            statuses("2")
                .equals(List.of(ModelStatus.LIVE, ModelStatus.ROLLED_BACK, ModelStatus.LIVE)),
        Duration.ofSeconds(20),
        "v2 republished as ROLLED_BACK then LIVE: " + statuses("2"));
  }

  static List<ModelStatus> statuses(String version) {
    return serving.readAll(serving.versionsTopic, PolicyVersion.class).stream()
        .filter(r -> r.key().equals(version))
        .map(ConsumerRecord::value)
        .map(PolicyVersion::getStatus)
        .toList();
  }

  @Test
  @Order(2)
  void theNewestCandidateTakesTheCanaryShare() {
    serving.publishVersion(3, ModelStatus.CANDIDATE, "v3");
    TestServing.await(
        () -> serving.manager().routing().canary() != null, Duration.ofSeconds(60), "canary v3");
    assertEquals("policy-v3", answeredBy("flywheel-canary"));
    assertEquals("policy-v3", answeredBy("policy-v3"));
    assertEquals("policy-v2", answeredBy("flywheel-live"));
    Set<String> seen = new HashSet<>();
    for (int u = 0; u < 24; u++) {
      String user = "user-" + u;
      String first = answer("flywheel", user);
      seen.add(first);
      for (int again = 0; again < 2; again++) {
        assertEquals(first, answer("flywheel", user), "sticky per user");
      }
    }
    assertEquals(Set.of("policy-v2", "policy-v3"), seen, "a share of users gets the canary");
    Reply models = serving.get("/v1/models", TestServing.KEY);
    assertTrue(models.text().contains("\"id\":\"flywheel-canary\""), models.text());
    assertTrue(models.text().contains("\"role\":\"canary\""), models.text());
  }

  static String answer(String model, String user) {
    Reply reply = serving.completion(chat(model, "hi", "max_tokens", 1, "user", user));
    assertEquals(200, reply.status(), reply.text());
    return reply.json().get("model").asText();
  }

  @Test
  @Order(3)
  void aRestartResumesFromTheTopicsState() {
    serving.publishControl(ControlAction.ROLLBACK, 2);
    secondsUntilLiveIs("policy-v1");
    serving.stop();
    serving.start();
    serving.awaitLive(1, Duration.ofSeconds(60));
    assertEquals("policy-v1", answeredBy("flywheel-live"));
    TestServing.await(
        () -> serving.manager().routing().canary() != null, Duration.ofSeconds(60), "canary v3");
  }
}
