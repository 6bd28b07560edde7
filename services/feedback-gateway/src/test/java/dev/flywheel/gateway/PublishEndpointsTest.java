package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.Role;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.Turn;
import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Each endpoint writes exactly the expected Avro record, stamped with the key's app id. */
@ExtendWith(FlywheelInfraExtension.class)
class PublishEndpointsTest {

  static TestGateway gateway;
  static FlywheelInfra infra;

  @BeforeAll
  static void start(FlywheelInfra flywheelInfra) {
    infra = flywheelInfra;
    gateway = new TestGateway(infra);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static String id(String prefix) {
    return prefix + "-" + UUID.randomUUID();
  }

  @Test
  void transcriptIsPublishedAsChatTranscript() {
    String eventId = id("tr");
    String transcriptId = id("t");
    Reply reply =
        gateway.post(
            "/v1/transcripts",
            TestGateway.SHOP_KEY,
            Map.of(
                "eventId",
                eventId,
                "eventTime",
                "2025-05-01T12:00:00+02:00",
                "transcriptId",
                transcriptId,
                "conversationId",
                "conv-1",
                "userId",
                "u-9",
                // no appId: it comes from the key ("shop" below); an appId in the body is refused
                // as unknown
                "turns",
                List.of(
                    Map.of("role", "system", "text", "Be brief."),
                    Map.of("role", "USER", "text", "2+2?")),
                "responses",
                List.of(
                    Map.of(
                        "responseId",
                        "r1",
                        "text",
                        "4",
                        "policyVersion",
                        3,
                        "tokenCount",
                        1,
                        "finishReason",
                        "stop",
                        "sampling",
                        Map.of(
                            "temperature",
                            0.7,
                            "topP",
                            0.9,
                            "topK",
                            40,
                            "maxTokens",
                            64,
                            "seed",
                            11)),
                    Map.of("responseId", "r2", "text", "5"))));
    assertEquals(200, reply.status(), reply.text());
    assertEquals("false", reply.header("Idempotent-Replayed"));
    assertEquals(eventId, reply.json().get("eventId").asText());
    assertEquals("chat.transcripts", reply.json().get("topic").asText());
    assertEquals(transcriptId, reply.json().get("key").asText());

    ConsumerRecord<String, ChatTranscript> record = only(Topics.CHAT_TRANSCRIPTS, eventId);
    assertEquals(transcriptId, record.key());
    assertEquals(reply.json().get("partition").asInt(), record.partition());
    assertEquals(reply.json().get("offset").asLong(), record.offset());
    ChatTranscript expected =
        new ChatTranscript(
            eventId,
            Instant.parse("2025-05-01T10:00:00Z"),
            transcriptId,
            "conv-1",
            "shop",
            "u-9",
            List.of(new Turn(Role.SYSTEM, "Be brief."), new Turn(Role.USER, "2+2?")),
            "2+2?",
            List.of(
                new CandidateResponse(
                    "r1", "4", 3L, new SamplingParams(0.7, 0.9, 40, 64, 11L), 1, "stop"),
                new CandidateResponse("r2", "5", null, null, 0, null)));
    assertEquals(expected, record.value());
  }

  @Test
  void tieredRankingIsPublishedAsHumanRanking() {
    String eventId = id("rk");
    Reply reply =
        gateway.post(
            "/v1/rankings",
            TestGateway.RANKER_KEY,
            Map.of(
                "eventId",
                eventId,
                "eventTime",
                1746093600000L,
                "transcriptId",
                "t-77",
                "tiers",
                List.of(List.of("r2"), List.of("r1", "r3"), List.of("r4")),
                "annotatorId",
                "ann-7",
                "annotatorPool",
                "held_out",
                "comment",
                "r2 is the only correct one"));
    assertEquals(200, reply.status(), reply.text());
    assertEquals(eventId, reply.json().get("rankingId").asText());

    ConsumerRecord<String, HumanRanking> record = only(Topics.FEEDBACK_RANKINGS, eventId);
    assertEquals("t-77", record.key());
    HumanRanking expected =
        new HumanRanking(
            eventId,
            Instant.ofEpochMilli(1746093600000L),
            eventId,
            "t-77",
            "ranker",
            List.of(tier("r2"), tier("r1", "r3"), tier("r4")),
            "ann-7",
            AnnotatorPool.HELD_OUT,
            "r2 is the only correct one");
    assertEquals(expected, record.value());
  }

  @Test
  void pairwiseChoiceBecomesTwoTiers() {
    String a = id("pa");
    String b = id("pb");
    String tie = id("pt");
    assertEquals(
        200,
        gateway
            .post(
                "/v1/rankings",
                TestGateway.SHOP_KEY,
                Map.of(
                    "eventId",
                    a,
                    "rankingId",
                    "rk-a",
                    "transcriptId",
                    "t-1",
                    "responseA",
                    "x",
                    "responseB",
                    "y",
                    "choice",
                    "A",
                    "annotatorId",
                    "ann"))
            .status());
    assertEquals(
        200,
        gateway
            .post(
                "/v1/rankings",
                TestGateway.SHOP_KEY,
                Map.of(
                    "eventId",
                    b,
                    "transcriptId",
                    "t-1",
                    "responseA",
                    "x",
                    "responseB",
                    "y",
                    "choice",
                    "B",
                    "annotatorId",
                    "ann"))
            .status());
    assertEquals(
        200,
        gateway
            .post(
                "/v1/rankings",
                TestGateway.SHOP_KEY,
                Map.of(
                    "eventId",
                    tie,
                    "transcriptId",
                    "t-1",
                    "responseA",
                    "x",
                    "responseB",
                    "y",
                    "choice",
                    "tie",
                    "annotatorId",
                    "ann"))
            .status());
    var records = TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, List.of(a, b, tie));
    HumanRanking ra = records.get(a).get(0).value();
    assertEquals(List.of(tier("x"), tier("y")), ra.getTiers());
    assertEquals("rk-a", ra.getRankingId());
    assertEquals(AnnotatorPool.TRAINING, ra.getAnnotatorPool());
    assertEquals("shop", ra.getAppId());
    assertEquals(List.of(tier("y"), tier("x")), records.get(b).get(0).value().getTiers());
    assertEquals(List.of(tier("x", "y")), records.get(tie).get(0).value().getTiers());
  }

  @Test
  void demonstrationIsPublishedWithDefaults() {
    Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    Reply reply =
        gateway.post(
            "/v1/demonstrations",
            TestGateway.SHOP_KEY,
            Map.of(
                "turns",
                List.of(Map.of("role", "user", "text", "Capital of France?")),
                "response",
                "Paris.",
                "annotatorId",
                "writer-3"));
    assertEquals(200, reply.status(), reply.text());
    String eventId = reply.json().get("eventId").asText();
    UUID.fromString(eventId); // defaulted to a UUID
    assertEquals(eventId, reply.json().get("demonstrationId").asText());

    Demonstration value = only(Topics.FEEDBACK_DEMONSTRATIONS, eventId).value();
    assertEquals(eventId, value.getDemonstrationId());
    assertEquals("shop", value.getAppId());
    assertEquals(List.of(new Turn(Role.USER, "Capital of France?")), value.getTurns());
    assertEquals("Paris.", value.getResponse());
    assertEquals("writer-3", value.getAnnotatorId());
    assertTrue(
        !value.getEventTime().isBefore(before) && !value.getEventTime().isAfter(Instant.now()),
        "eventTime defaults to now: " + value.getEventTime());
    assertEquals(Instant.parse(reply.json().get("eventTime").asText()), value.getEventTime());
  }

  @Test
  void batchesPublishEveryItem() {
    String t1 = id("bt");
    String t2 = id("bt");
    Reply transcripts =
        gateway.post(
            "/v1/transcripts:batch",
            TestGateway.SHOP_KEY,
            Map.of(
                "items",
                List.of(
                    Map.of(
                        "eventId",
                        t1,
                        "transcriptId",
                        "bt-1",
                        "turns",
                        List.of(Map.of("role", "user", "text", "hi")),
                        "responses",
                        List.of(Map.of("responseId", "a", "text", "hello"))),
                    Map.of(
                        "eventId",
                        t2,
                        "transcriptId",
                        "bt-2",
                        "turns",
                        List.of(Map.of("role", "user", "text", "yo")),
                        "responses",
                        List.of(Map.of("responseId", "a", "text", "hey"))))));
    assertEquals(200, transcripts.status(), transcripts.text());
    assertEquals(2, transcripts.json().get("accepted").asInt());
    assertEquals(0, transcripts.json().get("failed").asInt());
    assertEquals(t2, transcripts.json().get("items").get(1).get("result").get("eventId").asText());
    var written = TestGateway.byEventId(infra, Topics.CHAT_TRANSCRIPTS, List.of(t1, t2));
    assertEquals("bt-1", written.get(t1).get(0).key());
    assertEquals("bt-2", written.get(t2).get(0).key());
    assertEquals("hey", written.get(t2).get(0).value().getResponses().get(0).getText());

    String k = id("batch-key");
    Reply rankings =
        gateway.post(
            "/v1/rankings:batch",
            TestGateway.RANKER_KEY,
            Map.of(
                "items",
                List.of(
                    Map.of(
                        "transcriptId",
                        "bt-1",
                        "tiers",
                        List.of(List.of("a"), List.of("b")),
                        "annotatorId",
                        "x"),
                    Map.of(
                        "transcriptId",
                        "bt-2",
                        "responseA",
                        "a",
                        "responseB",
                        "b",
                        "choice",
                        "tie",
                        "annotatorId",
                        "x"))),
            "Idempotency-Key",
            k);
    assertEquals(200, rankings.status(), rankings.text());
    var rankingRecords =
        TestGateway.byEventId(infra, Topics.FEEDBACK_RANKINGS, List.of(k + ":0", k + ":1"));
    assertEquals(
        List.of(tier("a"), tier("b")), rankingRecords.get(k + ":0").get(0).value().getTiers());
    assertEquals("ranker", rankingRecords.get(k + ":1").get(0).value().getAppId());

    String d1 = id("bd");
    Reply demos =
        gateway.post(
            "/v1/demonstrations:batch",
            TestGateway.SHOP_KEY,
            Map.of(
                "items",
                List.of(
                    Map.of(
                        "eventId",
                        d1,
                        "demonstrationId",
                        "demo-1",
                        "turns",
                        List.of(Map.of("role", "user", "text", "q")),
                        "response",
                        "a",
                        "annotatorId",
                        "w"))));
    assertEquals(200, demos.status(), demos.text());
    ConsumerRecord<String, Demonstration> demo = only(Topics.FEEDBACK_DEMONSTRATIONS, d1);
    assertEquals("demo-1", demo.key());
    assertNull(demos.json().get("items").get(0).get("duplicate"));
  }

  static RankTier tier(String... ids) {
    return new RankTier(List.of(ids));
  }

  static <V extends org.apache.avro.specific.SpecificRecord> ConsumerRecord<String, V> only(
      dev.flywheel.schemas.topics.TopicSpec<V> topic, String eventId) {
    List<ConsumerRecord<String, V>> found =
        TestGateway.byEventId(infra, topic, List.of(eventId)).getOrDefault(eventId, List.of());
    assertEquals(1, found.size(), "records with event id " + eventId + " on " + topic.name());
    return found.get(0);
  }
}
