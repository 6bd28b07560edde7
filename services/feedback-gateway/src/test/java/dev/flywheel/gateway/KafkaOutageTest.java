package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.HumanRanking;
import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.infra.kafka.KafkaBrokerProcess;
import dev.flywheel.infra.topics.TopicCreator;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The broker stops mid-test: the gateway answers 503 with Retry-After within its bounded timeouts;
 * after the restart every acknowledged event is on the topic exactly once and no event that got 503
 * is, even after waiting past the delivery timeout (a producer that kept retrying them would write
 * them now).
 */
@ExtendWith(FlywheelInfraExtension.class)
class KafkaOutageTest {

  static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(3);
  static final Duration MAX_BLOCK = Duration.ofSeconds(2);
  static TestGateway gateway;
  static FlywheelInfra infra;

  @BeforeAll
  static void start(FlywheelInfra flywheelInfra) {
    infra = flywheelInfra;
    gateway =
        new TestGateway(
            infra,
            Map.of(
                "flywheel.gateway.delivery-timeout",
                DELIVERY_TIMEOUT.toMillis() + "ms",
                "flywheel.gateway.request-timeout",
                "1500ms",
                "flywheel.gateway.max-block",
                MAX_BLOCK.toMillis() + "ms",
                "flywheel.gateway.retry-after",
                "2s"));
  }

  @AfterAll
  static void stop() {
    if (!infra.broker().isRunning()) {
      infra.broker().start();
    }
    gateway.close();
  }

  static Map<String, Object> ranking(String eventId) {
    return Map.of(
        "eventId",
        eventId,
        "transcriptId",
        "t-outage-" + eventId.hashCode() % 7,
        "tiers",
        List.of(List.of("a"), List.of("b", "c")),
        "annotatorId",
        "ann");
  }

  static String newId() {
    return "outage-" + UUID.randomUUID();
  }

  @Test
  void unavailableBrokerMeans503AndNothingLateOnTheTopic() throws Exception {
    Set<String> acknowledged = new HashSet<>();
    Set<String> refused = new HashSet<>();

    for (int i = 0; i < 5; i++) {
      String id = newId();
      Reply r = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id));
      assertEquals(200, r.status(), r.text());
      acknowledged.add(id);
    }

    infra.broker().stop();
    try {
      // concurrent single requests plus one batch, all while the broker is down
      List<String> ids = new ArrayList<>();
      List<CompletableFuture<Reply>> singles = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int i = 0; i < 6; i++) {
        String id = newId();
        ids.add(id);
        singles.add(
            CompletableFuture.supplyAsync(
                () -> gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id))));
      }
      String b0 = newId();
      String b1 = newId();
      Reply batch =
          gateway.post(
              "/v1/rankings:batch",
              TestGateway.SHOP_KEY,
              Map.of("items", List.of(ranking(b0), ranking(b1))));
      for (CompletableFuture<Reply> f : singles) {
        Reply r = f.get();
        assertEquals(503, r.status(), r.text());
        assertEquals("2", r.header("Retry-After"));
        assertEquals("kafka_unavailable", r.json().get("error").asText());
      }
      long elapsedMs = Duration.ofNanos(System.nanoTime() - t0).toMillis();
      assertTrue(
          elapsedMs < DELIVERY_TIMEOUT.plus(MAX_BLOCK).toMillis() + 4_000,
          "503 within the bounded timeouts, took " + elapsedMs + " ms");
      assertEquals(503, batch.status(), batch.text());
      assertEquals("2", batch.header("Retry-After"));
      assertEquals(2, batch.json().get("failed").asInt());
      assertEquals(503, batch.json().get("items").get(1).get("status").asInt());
      refused.addAll(ids);
      refused.add(b0);
      refused.add(b1);

      Reply health = gateway.get("/health");
      assertEquals(503, health.status(), health.text());
      assertEquals("DOWN", health.json().get("status").asText());

      // a request arriving after the failures (fresh producer, no metadata) is refused too, in
      // bounded time
      String late = newId();
      Reply lateReply = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(late));
      assertEquals(503, lateReply.status(), lateReply.text());
      refused.add(late);
    } finally {
      infra.broker().restart();
    }

    // the client retries one refused event with the same id: written once now
    String retried = refused.iterator().next();
    assertEquals(200, postUntilAccepted(retried).status());
    refused.remove(retried);
    acknowledged.add(retried);
    for (int i = 0; i < 3; i++) {
      String id = newId();
      assertEquals(200, postUntilAccepted(id).status());
      acknowledged.add(id);
    }

    // give a producer that (wrongly) still held a refused record every chance to deliver it
    Thread.sleep(DELIVERY_TIMEOUT.plusSeconds(2).toMillis());
    Set<String> all = new HashSet<>(acknowledged);
    all.addAll(refused);
    Map<String, List<ConsumerRecord<String, HumanRanking>>> onTopic =
        TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, all);
    for (String id : acknowledged) {
      assertEquals(1, onTopic.getOrDefault(id, List.of()).size(), "acknowledged " + id);
    }
    for (String id : refused) {
      assertTrue(!onTopic.containsKey(id), "event " + id + " got 503 but is on the topic");
    }
    assertTrue(
        gateway
                .context
                .getBean(dev.flywheel.gateway.publish.FeedbackEventPublisher.class)
                .retirements()
            >= 1);
    assertEquals(200, gateway.get("/health").status());
  }

  /**
   * {@code kill -9} of a broker (its own process), with the producer keeping its cached metadata,
   * so refused records sit in its accumulator until the delivery timeout. This is where a gateway
   * that answered 503 from a shorter timer of its own, or that kept the failed producer's batches,
   * would write them after the restart.
   */
  @Test
  void killedBrokerLeavesNoRefusedRecordBehind() throws Exception {
    try (KafkaBrokerProcess broker = KafkaBrokerProcess.builder().heap("256m").start()) {
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        TopicCreator.ensureTopics(admin, List.of(Topics.FEEDBACK_RANKINGS));
      }
      try (TestGateway own =
          new TestGateway(
              infra,
              Map.of(
                  "flywheel.kafka.bootstrap-servers",
                  broker.bootstrapServers(),
                  // keep the cached metadata when the broker vanishes (Kafka 4's default
                  // re-bootstraps and drops
                  // it, failing sends in send() instead): the records then wait in the accumulator
                  "flywheel.kafka.properties.metadata.recovery.strategy",
                  "none",
                  "flywheel.gateway.delivery-timeout",
                  DELIVERY_TIMEOUT.toMillis() + "ms",
                  "flywheel.gateway.request-timeout",
                  "1500ms",
                  "flywheel.gateway.max-block",
                  MAX_BLOCK.toMillis() + "ms",
                  "flywheel.gateway.retry-after",
                  "2s"))) {
        Set<String> acknowledged = new HashSet<>();
        Set<String> refused = new HashSet<>();
        for (int i = 0; i < 3; i++) {
          String id = newId();
          assertEquals(200, own.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id)).status());
          acknowledged.add(id);
        }
        broker.kill();
        List<CompletableFuture<Reply>> replies = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          String id = newId();
          refused.add(id);
          replies.add(
              CompletableFuture.supplyAsync(
                  () -> own.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id))));
        }
        for (CompletableFuture<Reply> f : replies) {
          Reply r = f.get();
          assertEquals(503, r.status(), r.text());
          assertEquals("2", r.header("Retry-After"));
        }
        broker.start();
        for (int i = 0; i < 2; i++) {
          String id = newId();
          assertEquals(200, postUntilAccepted(own, id).status());
          acknowledged.add(id);
        }
        Thread.sleep(DELIVERY_TIMEOUT.plusSeconds(2).toMillis());
        Set<String> onTopic = new HashSet<>();
        Map<String, Integer> counts = new java.util.HashMap<>();
        for (var r :
            TestGateway.readAll(infra, broker.bootstrapServers(), Topics.FEEDBACK_RANKINGS)) {
          onTopic.add(r.value().getEventId());
          counts.merge(r.value().getEventId(), 1, Integer::sum);
        }
        for (String id : acknowledged) {
          assertEquals(1, counts.getOrDefault(id, 0), "acknowledged " + id);
        }
        for (String id : refused) {
          assertTrue(!onTopic.contains(id), "event " + id + " got 503 but is on the topic");
        }
      }
    }
  }

  static Reply postUntilAccepted(String id) throws InterruptedException {
    return postUntilAccepted(gateway, id);
  }

  /**
   * Right after the restart the producer may still be reconnecting: retry (same id) on 503, as a
   * client would.
   */
  static Reply postUntilAccepted(TestGateway gateway, String id) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      Reply r = gateway.post("/v1/rankings", TestGateway.SHOP_KEY, ranking(id));
      if (r.status() != 503 || System.nanoTime() > deadline) {
        return r;
      }
      Thread.sleep(500);
    }
  }
}
