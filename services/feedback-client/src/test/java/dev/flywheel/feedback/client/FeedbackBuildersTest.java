package dev.flywheel.feedback.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.Role;
import dev.flywheel.events.SamplingParams;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The builders fill the defaults and enforce the same rules as the gateway. */
class FeedbackBuildersTest {

  static final Instant NOW = Instant.parse("2025-05-01T12:00:00Z");
  static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  static FeedbackValidationException invalid(
      org.junit.jupiter.api.function.Executable build, String code, String field) {
    FeedbackValidationException e = assertThrows(FeedbackValidationException.class, build);
    assertEquals(code, e.code(), e.getMessage());
    assertEquals(field, e.field(), e.getMessage());
    return e;
  }

  @Test
  void rankingDefaults() {
    HumanRanking r =
        Feedback.ranking("app")
            .clock(CLOCK)
            .transcriptId("t")
            .tier("r2")
            .tier("r1", "r3")
            .annotatorId("ann")
            .build();
    UUID.fromString(r.getEventId());
    assertEquals(r.getEventId(), r.getRankingId());
    assertEquals(NOW, r.getEventTime());
    assertEquals("app", r.getAppId());
    assertEquals(AnnotatorPool.TRAINING, r.getAnnotatorPool());
    assertEquals(
        List.of(new RankTier(List.of("r2")), new RankTier(List.of("r1", "r3"))), r.getTiers());
  }

  @Test
  void pairwiseIsTheKEquals2Case() {
    var b = Feedback.ranking("app").transcriptId("t").annotatorId("a");
    assertEquals(
        List.of(new RankTier(List.of("x")), new RankTier(List.of("y"))),
        b.pairwise("x", "y", Choice.A).build().getTiers());
    assertEquals(
        List.of(new RankTier(List.of("y")), new RankTier(List.of("x"))),
        b.pairwise("x", "y", Choice.B).build().getTiers());
    assertEquals(
        List.of(new RankTier(List.of("x", "y"))),
        b.pairwise("x", "y", Choice.parse("Tie", "c")).build().getTiers());
    invalid(() -> b.pairwise("x", "x", Choice.A), FeedbackRules.DUPLICATE_RESPONSE_ID, "responseB");
    invalid(() -> Choice.parse("maybe", "choice"), FeedbackRules.INVALID_VALUE, "choice");
  }

  @Test
  void rankingRules() {
    invalid(
        () -> Feedback.ranking("app").transcriptId("t").tier("a").annotatorId("x").build(),
        FeedbackRules.K_OUT_OF_RANGE,
        "tiers");
    invalid(
        () ->
            Feedback.ranking("app")
                .transcriptId("t")
                .tier("a", "b", "c", "d", "e")
                .tier("f", "g", "h", "i", "j")
                .annotatorId("x")
                .build(),
        FeedbackRules.K_OUT_OF_RANGE,
        "tiers");
    invalid(
        () ->
            Feedback.ranking("app")
                .transcriptId("t")
                .tier("a")
                .tier("b", "a")
                .annotatorId("x")
                .build(),
        FeedbackRules.DUPLICATE_RESPONSE_ID,
        "tiers[1][1]");
    invalid(
        () ->
            Feedback.ranking("app")
                .transcriptId("t")
                .tier("a")
                .tier()
                .tier("b")
                .annotatorId("x")
                .build(),
        FeedbackRules.EMPTY_TIER,
        "tiers[1]");
    invalid(
        () -> Feedback.ranking("app").tier("a").tier("b").annotatorId("x").build(),
        FeedbackRules.MISSING_FIELD,
        "transcriptId");
    invalid(
        () -> Feedback.ranking("app").transcriptId("t").tier("a").tier("b").build(),
        FeedbackRules.MISSING_FIELD,
        "annotatorId");
    invalid(
        () ->
            Feedback.ranking("app")
                .clock(CLOCK)
                .eventTime(NOW.plus(Duration.ofMinutes(6)))
                .transcriptId("t")
                .tier("a")
                .tier("b")
                .annotatorId("x")
                .build(),
        FeedbackRules.TIMESTAMP_IN_FUTURE,
        "eventTime");
    // 9 is fine, and within the skew is fine
    assertNotNull(
        Feedback.ranking("app")
            .clock(CLOCK)
            .eventTime(NOW.plus(Duration.ofMinutes(4)))
            .transcriptId("t")
            .tier("1", "2", "3")
            .tier("4", "5", "6")
            .tier("7", "8", "9")
            .annotatorId("x")
            .build());
  }

  @Test
  void transcriptDefaultsAndRules() {
    ChatTranscript t =
        Feedback.transcript("app")
            .clock(CLOCK)
            .turn(Role.SYSTEM, "s")
            .turn(Role.USER, "2+2?")
            .response("r1", "4", 3L, new SamplingParams(0.0, 1.0, 0, 8, null), 1, "stop")
            .response("r2", "5")
            .build();
    assertEquals("2+2?", t.getPrompt());
    assertEquals(t.getTranscriptId(), t.getConversationId());
    assertEquals(2, t.getResponses().size());

    invalid(
        () ->
            Feedback.transcript("app")
                .turn(Role.USER, "q")
                .response("r", "a")
                .response("r", "b")
                .build(),
        FeedbackRules.DUPLICATE_RESPONSE_ID,
        "responses[1].responseId");
    invalid(
        () -> Feedback.transcript("app").turn(Role.USER, "q").response("r", " ").build(),
        FeedbackRules.EMPTY_TEXT,
        "responses[0].text");
    invalid(
        () -> Feedback.transcript("app").turn(Role.USER, "").response("r", "a").build(),
        FeedbackRules.EMPTY_TEXT,
        "turns[0].text");
    invalid(
        () ->
            Feedback.transcript("app")
                .turn(Role.USER, "q")
                .turn(Role.ASSISTANT, "a")
                .response("r", "a")
                .build(),
        FeedbackRules.INVALID_VALUE,
        "turns[1].role");
    invalid(
        () -> Feedback.transcript("app").turn(Role.USER, "q").build(),
        FeedbackRules.MISSING_FIELD,
        "responses");
    invalid(
        () ->
            Feedback.transcript("app")
                .turn(Role.USER, "q")
                .prompt("other")
                .response("r", "a")
                .build(),
        FeedbackRules.INVALID_VALUE,
        "prompt");
    invalid(
        () ->
            Feedback.transcript("app")
                .limits(new FeedbackRules.Limits(1000, Duration.ZERO))
                .turn(Role.USER, "q")
                .response("r", "x".repeat(2000))
                .build(),
        FeedbackRules.PAYLOAD_TOO_LARGE,
        "responses[0].text");
  }

  @Test
  void demonstrationDefaultsAndRules() {
    Demonstration d =
        Feedback.demonstration("app")
            .eventId("e-1")
            .turn(Role.USER, "q")
            .response("a")
            .annotatorId("w")
            .build();
    assertEquals("e-1", d.getDemonstrationId());
    invalid(
        () ->
            Feedback.demonstration("app")
                .turn(Role.USER, "q")
                .response("")
                .annotatorId("w")
                .build(),
        FeedbackRules.EMPTY_TEXT,
        "response");
    invalid(
        () -> Feedback.demonstration("app").response("a").annotatorId("w").build(),
        FeedbackRules.MISSING_FIELD,
        "turns");
  }

  @Test
  void parsingHelpers() {
    assertEquals(Role.ASSISTANT, FeedbackRules.parseRole("Assistant", "r"));
    invalid(
        () -> FeedbackRules.parseRole("bot", "turns[3].role"),
        FeedbackRules.UNKNOWN_ROLE,
        "turns[3].role");
    assertEquals(AnnotatorPool.HELD_OUT, FeedbackRules.parsePool("held-out", "p"));
    assertEquals(
        Instant.parse("2025-05-01T10:00:00Z"),
        FeedbackRules.parseTime("2025-05-01T12:00:00+02:00", "t"));
    assertEquals(
        Instant.ofEpochMilli(1746093600000L), FeedbackRules.parseTime("1746093600000", "t"));
    invalid(
        () -> FeedbackRules.parseTime("2025-05-01", "eventTime"),
        FeedbackRules.BAD_TIMESTAMP,
        "eventTime");
  }

  @Test
  void batchPathsArePrefixed() {
    FeedbackValidationException e =
        new FeedbackValidationException("c", "tiers", "m").prefixed("items[2].");
    assertEquals("items[2].tiers", e.field());
    assertEquals(
        "items[2]", new FeedbackValidationException("c", null, "m").prefixed("items[2].").field());
  }

  @Test
  void idsAndTextsAreBoundedAndMustBeText() {
    // defaults: ids at most 128 characters, texts at most 131 072
    invalid(
        () ->
            Feedback.ranking("app")
                .transcriptId("t")
                .tier("r1")
                .tier("r2")
                .annotatorId("a".repeat(129))
                .build(),
        FeedbackRules.TOO_LONG,
        "annotatorId");
    invalid(
        () ->
            Feedback.ranking("app")
                .transcriptId("t")
                .tier("r1")
                .tier("r".repeat(129))
                .annotatorId("a")
                .build(),
        FeedbackRules.TOO_LONG,
        "tiers[1][0]");
    invalid(
        () ->
            Feedback.demonstration("app")
                .turn(Role.USER, "q")
                .response("x".repeat(131_073))
                .annotatorId("w")
                .build(),
        FeedbackRules.TOO_LONG,
        "response");
    invalid(
        () ->
            Feedback.ranking("app")
                .transcriptId("t")
                .tier("r1")
                .tier("r2")
                .annotatorId("a")
                .comment("c".repeat(131_073))
                .build(),
        FeedbackRules.TOO_LONG,
        "comment");
    // NUL and lone surrogates would reach Kafka as-is (NUL) or as '?' (Avro's UTF-8 encoder)
    invalid(
        () ->
            Feedback.transcript("app")
                .transcriptId("t")
                .turn(Role.USER, "hi \uD800")
                .response("r1", "a")
                .build(),
        FeedbackRules.INVALID_TEXT,
        "turns[0].text");
    invalid(
        () ->
            Feedback.transcript("app")
                .transcriptId("t")
                .turn(Role.USER, "hi")
                .response("r1", "a\u0000")
                .build(),
        FeedbackRules.INVALID_TEXT,
        "responses[0].text");
    invalid(
        () ->
            Feedback.ranking("app")
                .transcriptId("t")
                .tier("r1")
                .tier("r2")
                .annotatorId("a")
                .comment("\uDC00\uD800")
                .build(),
        FeedbackRules.INVALID_TEXT,
        "comment");
    Feedback.transcript("app")
        .transcriptId("t")
        .turn(Role.USER, "smile \uD83D\uDE00")
        .response("r1", "a")
        .build();
    // the limits are the caller's to set
    FeedbackRules.Limits wide =
        new FeedbackRules.Limits(512 * 1024, Duration.ofMinutes(5), 256, 10);
    Feedback.ranking("app")
        .limits(wide)
        .transcriptId("t")
        .tier("r1")
        .tier("r2")
        .annotatorId("a".repeat(256))
        .build();
    invalid(
        () ->
            Feedback.demonstration("app")
                .limits(wide)
                .turn(Role.USER, "q")
                .response("eleven char")
                .annotatorId("w")
                .build(),
        FeedbackRules.TOO_LONG,
        "response");
    assertEquals("\"abc\"", FeedbackRules.quote("abc"));
    assertEquals("\"a\uFFFDb\"", FeedbackRules.quote("a\u0000b"));
    assertEquals(64 + 2, FeedbackRules.quote("x".repeat(1000)).indexOf("..."));
  }
}
