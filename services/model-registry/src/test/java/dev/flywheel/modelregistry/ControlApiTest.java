package dev.flywheel.modelregistry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.events.ControlAction;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Promote/rollback write acknowledged control events; only operators may. */
@ExtendWith(FlywheelInfraExtension.class)
class ControlApiTest {

  static RegistryHarness registry;

  @BeforeAll
  static void start(FlywheelInfra infra, @TempDir Path artifacts) {
    registry = new RegistryHarness(infra, artifacts);
    registry.publishStandardHistory();
    registry.publish(
        RegistryHarness.policy(5, PolicyStage.PPO, List.of(3L, 1L), 2L, ModelStatus.REJECTED, 12));
    registry.start();
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  /** Every control event on the (private) control topic, read back from the broker. */
  static List<ConsumerRecord<String, ModelControl>> controlEvents() {
    Map<String, Object> props =
        registry.infra.consumerProps(registry.infra.uniqueName("control-reader"));
    try (KafkaConsumer<String, ModelControl> consumer =
        new KafkaConsumer<>(
            props,
            new StringDeserializer(),
            new AvroDeserializer<>(
                new HttpSchemaRegistryClient(registry.infra.registryUrl()), ModelControl.class))) {
      TopicPartition tp = new TopicPartition(registry.controlTopic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      List<ConsumerRecord<String, ModelControl>> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (consumer.position(tp) < end && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  @Test
  void promoteAndRollbackRoundTripThroughTheControlTopic() {
    HttpResponse<byte[]> promoted =
        registry.post(
            "/api/versions/policy/3/promote",
            RegistryHarness.OPERATOR_KEY,
            "{\"reason\":\"beats v1 on win rate\"}");
    assertEquals(202, promoted.statusCode(), new String(promoted.body()));
    JsonNode promoteAnswer = RegistryHarness.parse(promoted.body());
    assertEquals("PROMOTE", promoteAnswer.path("action").asText());
    assertEquals("ops", promoteAnswer.path("requestedBy").asText());
    assertTrue(promoteAnswer.path("offset").asLong() >= 0, "answered with the acknowledged offset");

    HttpResponse<byte[]> rolledBack =
        registry.post(
            "/api/versions/policy/3/rollback?reason=regression",
            RegistryHarness.OPERATOR_KEY,
            null);
    assertEquals(202, rolledBack.statusCode(), new String(rolledBack.body()));
    JsonNode rollbackAnswer = RegistryHarness.parse(rolledBack.body());

    HttpResponse<byte[]> rewardPromoted =
        registry.post("/api/versions/reward/2/promote", RegistryHarness.OPERATOR_KEY, null);
    assertEquals(202, rewardPromoted.statusCode(), new String(rewardPromoted.body()));

    // the answer came after the broker's ack: the events are on the topic now, in order
    List<ConsumerRecord<String, ModelControl>> events = controlEvents();
    assertEquals(3, events.size());
    ConsumerRecord<String, ModelControl> first = events.get(0);
    assertEquals("POLICY", first.key());
    assertEquals(promoteAnswer.path("eventId").asText(), first.value().getEventId());
    assertEquals(promoteAnswer.path("offset").asLong(), first.offset());
    assertEquals(ModelKind.POLICY, first.value().getModelKind());
    assertEquals(ControlAction.PROMOTE, first.value().getAction());
    assertEquals(3L, first.value().getVersion());
    assertEquals("ops", first.value().getRequestedBy());
    assertEquals("beats v1 on win rate", first.value().getReason());
    ModelControl second = events.get(1).value();
    assertEquals(rollbackAnswer.path("eventId").asText(), second.getEventId());
    assertEquals(ControlAction.ROLLBACK, second.getAction());
    assertEquals("regression", second.getReason());
    assertEquals("REWARD", events.get(2).key());
    assertEquals(ModelKind.REWARD, events.get(2).value().getModelKind());

    // the registry reads its own audit trail back
    JsonNode audit =
        registry.awaitJson("/api/control?kind=policy&version=3", j -> j.path("events").size() == 2);
    assertEquals("ROLLBACK", audit.path("events").get(1).path("action").asText());
    JsonNode v3 =
        registry.awaitJson("/api/versions/policy/3", j -> !j.path("lastControl").isNull());
    assertEquals("ROLLBACK", v3.path("lastControl").path("action").asText());
  }

  @Test
  void refusesAReasonThatIsTooLongOrNotText() {
    int before = controlEvents().size();
    String[][] cases = {
      // body, query, expected error code
      {"{\"reason\":\"" + "r".repeat(1001) + "\"}", "", "too_long"},
      {null, "?reason=" + "r".repeat(1001), "too_long"},
      {"{\"reason\":\"nul \\u0000 inside\"}", "", "invalid_text"},
      {"{\"reason\":\"lone \\ud800 surrogate\"}", "", "invalid_text"},
      {"{\"reason\":\"\\udc00 reversed \\ud83d\"}", "", "invalid_text"},
      {null, "?reason=nul%00inside", "invalid_text"}
    };
    for (String[] c : cases) {
      for (String action : List.of("promote", "rollback")) {
        HttpResponse<byte[]> r =
            registry.post(
                "/api/versions/policy/3/" + action + c[1], RegistryHarness.OPERATOR_KEY, c[0]);
        assertEquals(400, r.statusCode(), action + " " + c[2] + ": " + new String(r.body()));
        JsonNode error = RegistryHarness.parse(r.body());
        assertEquals("reason", error.path("field").asText(), error.toString());
        assertEquals(c[2], error.path("error").asText(), error.toString());
      }
    }
    assertEquals(before, controlEvents().size(), "refused requests write nothing");
  }

  @Test
  void refusesWithoutAnOperatorKey() {
    int before = controlEvents().size();
    HttpResponse<byte[]> none = registry.post("/api/versions/policy/3/promote", null, null);
    assertEquals(401, none.statusCode());
    assertNotNull(none.headers().firstValue("WWW-Authenticate").orElse(null));
    assertEquals(
        401, registry.post("/api/versions/policy/3/rollback", "fwk_not-a-key", null).statusCode());
    assertEquals(
        403,
        registry
            .post("/api/versions/policy/3/promote", RegistryHarness.VIEWER_KEY, null)
            .statusCode());
    assertEquals(
        404,
        registry
            .post("/api/versions/policy/77/promote", RegistryHarness.OPERATOR_KEY, null)
            .statusCode());
    assertEquals(
        409,
        registry
            .post("/api/versions/policy/5/promote", RegistryHarness.OPERATOR_KEY, null)
            .statusCode(),
        "a REJECTED version cannot be promoted");
    assertEquals(before, controlEvents().size(), "refused requests write nothing");
  }
}
