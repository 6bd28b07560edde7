package dev.flywheel.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.feedback.client.FeedbackRules;
import dev.flywheel.feedback.client.FeedbackValidationException;
import dev.flywheel.gateway.FeedbackBodies;
import dev.flywheel.gateway.FeedbackBodies.Kind;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.testing.Fuzz;
import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper.CloseableObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Property-based tests of the gateway's request parsing below HTTP: JSON text decoded by the serde
 * mapper with the gateway's settings (unknown fields refused), then {@link EventMapper} with {@link
 * FeedbackRules} (tries per property in CI; {@code -Dflywheel.fuzz.scale=100} for a long run, see
 * {@link Fuzz}):
 *
 * <ul>
 *   <li>any body of any kind is either refused by the decoder (a 400 {@code malformed_request} in
 *       the service), or mapped to an event that passes every rule and fits the event budget, or
 *       refused with a {@link FeedbackValidationException} whose field is one of the body's fields
 *       — never any other exception, which the service would answer with a 500;
 *   <li>valid bodies become exactly the event they describe and round-trip through the Avro wire
 *       format (real registry) unchanged.
 * </ul>
 */
@ExtendWith(FlywheelInfraExtension.class)
class EventMapperFuzzTest {

  /**
   * Small text and event limits, so that texts and events cross them (ids keep the default 128).
   */
  static final FeedbackRules.Limits SMALL =
      new FeedbackRules.Limits(
          4096, Duration.ofMinutes(5), FeedbackRules.DEFAULT_MAX_ID_LENGTH, 1024);

  /**
   * Writes JSON text with every non-ASCII character as a {@code \\u} escape, as a client may: a
   * lone surrogate survives only that way (raw, it is not UTF-8 and the body is refused before
   * parsing).
   */
  private static final ObjectMapper WRITER =
      JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

  private static CloseableObjectMapper json;
  private static SchemaRegistryClient registry;

  @BeforeAll
  static void setUp(FlywheelInfra infra) {
    json =
        io.micronaut.serde.ObjectMapper.create(
            Map.of("micronaut.serde.deserialization.ignore-unknown", false),
            "dev.flywheel.gateway.api");
    registry = new HttpSchemaRegistryClient(infra.registryUrl());
  }

  @AfterAll
  static void tearDown() {
    json.close();
  }

  record Body(Kind kind, Object value) {
    @Override
    public String toString() {
      return kind + " " + show(value);
    }
  }

  @Test
  void anyBodyIsRefusedNamingAFieldOrBecomesAValidEvent() {
    EventMapper mapper = new EventMapper(SMALL);
    Map<String, Integer> outcomes =
        Fuzz.check(
            "any body",
            1500,
            gen -> {
              Kind kind = gen.pick(List.of(Kind.values()));
              return new Body(kind, FeedbackBodies.any(gen, kind));
            },
            body -> {
              Requests.Item item;
              try {
                item = decode(body.kind(), body.value());
              } catch (IOException | RuntimeException notDecoded) {
                return "not decoded";
              }
              Instant now = Instant.now();
              String eventId =
                  item.eventId() != null ? item.eventId() : UUID.randomUUID().toString();
              try {
                SpecificRecord event = map(mapper, item, eventId, now);
                assertValid(event, now);
                return body.kind() + " accepted";
              } catch (FeedbackValidationException e) {
                assertNotNull(e.code());
                assertNotNull(e.field(), () -> "a refusal names the field: " + e);
                String root = e.field().split("[.\\[]", 2)[0];
                assertTrue(
                    body.kind().fields().contains(root),
                    () -> "field " + e.field() + " is one of the body's: " + e);
                return "400 " + e.code();
              }
            });
    for (Kind kind : Kind.values()) {
      assertTrue(
          outcomes.getOrDefault(kind + " accepted", 0) > 0,
          () -> "some " + kind + " accepted: " + outcomes);
    }
    for (String code :
        List.of(
            FeedbackRules.MISSING_FIELD,
            FeedbackRules.TOO_LONG,
            FeedbackRules.INVALID_VALUE,
            FeedbackRules.BAD_TIMESTAMP,
            FeedbackRules.INVALID_TEXT)) {
      assertTrue(outcomes.containsKey("400 " + code), () -> code + " reached: " + outcomes);
    }
  }

  @Test
  void validBodiesBecomeTheEventTheyDescribeAndRoundTrip() {
    EventMapper mapper = new EventMapper(FeedbackRules.Limits.DEFAULT);
    AvroSerializer<SpecificRecord> serializer = new AvroSerializer<>(registry, true);
    Fuzz.check(
        "valid bodies",
        500,
        gen -> {
          Kind kind = gen.pick(List.of(Kind.values()));
          return new Body(kind, FeedbackBodies.valid(gen, kind));
        },
        body -> {
          @SuppressWarnings("unchecked")
          Map<String, Object> in = (Map<String, Object>) body.value();
          Requests.Item item = decode(body.kind(), in);
          Instant now = Instant.now();
          SpecificRecord event = map(mapper, item, item.eventId(), now);
          assertDescribes(in, event);
          String topic =
              switch (body.kind()) {
                case TRANSCRIPTS -> Topics.CHAT_TRANSCRIPTS.name();
                case RANKINGS -> Topics.FEEDBACK_RANKINGS.name();
                case DEMONSTRATIONS -> Topics.FEEDBACK_DEMONSTRATIONS.name();
              };
          Object back =
              new AvroDeserializer<>(registry, event.getClass())
                  .deserialize(topic, serializer.serialize(topic, event));
          assertEquals(event, back);
          return null;
        });
  }

  @Test
  void anEventTimeBeyondTheMillisecondRangeIsABadTimestamp() {
    // found by the property above: toEpochMilli() overflowed (ArithmeticException, a 500) before
    // year -292 million
    Requests.Ranking ranking =
        new Requests.Ranking(
            "e",
            "-999999999-07-22T01:00:55.184322028+18:00",
            null,
            "t",
            List.of(List.of("a"), List.of("b")),
            null,
            null,
            null,
            "x",
            null,
            null);
    FeedbackValidationException e =
        assertThrows(
            FeedbackValidationException.class,
            () ->
                new EventMapper(FeedbackRules.Limits.DEFAULT)
                    .ranking(ranking, "fuzz-app", "e", Instant.now()));
    assertEquals(FeedbackRules.BAD_TIMESTAMP, e.code());
    assertEquals("eventTime", e.field());
  }

  // ------------------------------------------------------------------------------------------
  // checks

  /** The event passes every rule again and fits the event budget. */
  private static void assertValid(SpecificRecord event, Instant now) {
    if (event instanceof ChatTranscript t) {
      FeedbackRules.validate(t, SMALL, now);
    } else if (event instanceof HumanRanking r) {
      FeedbackRules.validate(r, SMALL, now);
    } else {
      FeedbackRules.validate((Demonstration) event, SMALL, now);
    }
    assertTrue(FeedbackRules.encodedSize(event) <= SMALL.maxEventBytes());
    assertEquals("fuzz-app", event.get(event.getSchema().getField("appId").pos()).toString());
  }

  /** The event holds what the body said, with the documented defaults. */
  private static void assertDescribes(Map<String, Object> in, SpecificRecord event) {
    assertEquals(in.get("eventId"), event.get(event.getSchema().getField("eventId").pos()));
    if (event instanceof HumanRanking r) {
      assertEquals(in.get("transcriptId"), r.getTranscriptId());
      assertEquals(in.getOrDefault("rankingId", in.get("eventId")), r.getRankingId());
      assertEquals(in.get("annotatorId"), r.getAnnotatorId());
      assertEquals(in.get("comment"), r.getComment());
      String pool = (String) in.get("annotatorPool");
      assertEquals(
          pool == null || pool.equalsIgnoreCase("training")
              ? AnnotatorPool.TRAINING
              : AnnotatorPool.HELD_OUT,
          r.getAnnotatorPool());
      List<List<String>> tiers = r.getTiers().stream().map(RankTier::getResponseIds).toList();
      if (in.containsKey("tiers")) {
        assertEquals(in.get("tiers"), tiers);
      } else {
        Object a = in.get("responseA");
        Object b = in.get("responseB");
        assertEquals(
            switch (((String) in.get("choice")).toLowerCase()) {
              case "a" -> List.of(List.of(a), List.of(b));
              case "b" -> List.of(List.of(b), List.of(a));
              default -> List.of(List.of(a, b));
            },
            tiers);
      }
    } else if (event instanceof ChatTranscript t) {
      assertEquals(in.get("transcriptId"), t.getTranscriptId());
      assertEquals(
          in.getOrDefault("conversationId", in.get("transcriptId")), t.getConversationId());
      assertEquals(in.get("userId"), t.getUserId());
      assertEquals(((List<?>) in.get("turns")).size(), t.getTurns().size());
      assertEquals(t.getTurns().get(t.getTurns().size() - 1).getText(), t.getPrompt());
      assertEquals(((List<?>) in.get("responses")).size(), t.getResponses().size());
      for (int i = 0; i < t.getResponses().size(); i++) {
        Map<?, ?> r = (Map<?, ?>) ((List<?>) in.get("responses")).get(i);
        assertEquals(r.get("responseId"), t.getResponses().get(i).getResponseId());
        assertEquals(r.get("text"), t.getResponses().get(i).getText());
        Map<?, ?> s = (Map<?, ?>) r.get("sampling");
        if (s != null && s.get("seed") != null) {
          assertEquals(
              ((Number) s.get("seed")).longValue(),
              t.getResponses().get(i).getSampling().getSeed());
        }
      }
    } else {
      Demonstration d = (Demonstration) event;
      assertEquals(in.getOrDefault("demonstrationId", in.get("eventId")), d.getDemonstrationId());
      assertEquals(in.get("response"), d.getResponse());
      assertEquals(in.get("annotatorId"), d.getAnnotatorId());
    }
  }

  // ------------------------------------------------------------------------------------------
  // parts

  private static Requests.Item decode(Kind kind, Object body) throws IOException {
    Class<? extends Requests.Item> type =
        switch (kind) {
          case TRANSCRIPTS -> Requests.Transcript.class;
          case RANKINGS -> Requests.Ranking.class;
          case DEMONSTRATIONS -> Requests.Demonstration.class;
        };
    Requests.Item item = json.readValue(WRITER.writeValueAsString(body), Argument.of(type));
    if (item == null) {
      throw new IOException("null body");
    }
    return item;
  }

  private static SpecificRecord map(
      EventMapper mapper, Requests.Item item, String eventId, Instant now) {
    if (item instanceof Requests.Transcript t) {
      return mapper.transcript(t, "fuzz-app", eventId, now);
    }
    if (item instanceof Requests.Ranking r) {
      return mapper.ranking(r, "fuzz-app", eventId, now);
    }
    return mapper.demonstration((Requests.Demonstration) item, "fuzz-app", eventId, now);
  }

  static String show(Object value) {
    try {
      return WRITER.writeValueAsString(value);
    } catch (IOException e) {
      return String.valueOf(value);
    }
  }
}
