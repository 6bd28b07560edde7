package dev.flywheel.gateway.api;

import static dev.flywheel.feedback.client.FeedbackRules.BAD_TIMESTAMP;
import static dev.flywheel.feedback.client.FeedbackRules.INVALID_VALUE;
import static dev.flywheel.feedback.client.FeedbackRules.MISSING_FIELD;

import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.Turn;
import dev.flywheel.feedback.client.Choice;
import dev.flywheel.feedback.client.FeedbackRules;
import dev.flywheel.feedback.client.FeedbackValidationException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON request → Avro event: fills the defaults (event time now, derived ids), stamps the app id of
 * the API key, converts the pairwise form to tiers, and applies {@link FeedbackRules}. Every
 * problem is a {@link FeedbackValidationException} naming the JSON field.
 */
public final class EventMapper {

  private final FeedbackRules.Limits limits;

  public EventMapper(FeedbackRules.Limits limits) {
    this.limits = limits;
  }

  public ChatTranscript transcript(
      Requests.Transcript in, String appId, String eventId, Instant now) {
    ChatTranscript t = new ChatTranscript();
    t.setEventId(eventId);
    t.setEventTime(time(in.eventTime(), now));
    t.setTranscriptId(in.transcriptId());
    t.setConversationId(in.conversationId() == null ? in.transcriptId() : in.conversationId());
    t.setAppId(appId);
    t.setUserId(in.userId());
    t.setTurns(turns(in.turns()));
    t.setPrompt(
        in.prompt() != null || t.getTurns().isEmpty()
            ? in.prompt()
            : t.getTurns().get(t.getTurns().size() - 1).getText());
    List<CandidateResponse> responses = new ArrayList<>();
    if (in.responses() != null) {
      for (int i = 0; i < in.responses().size(); i++) {
        Requests.Response r = in.responses().get(i);
        if (r == null) {
          throw new FeedbackValidationException(
              MISSING_FIELD, "responses[" + i + "]", "responses[" + i + "] is null");
        }
        String path = "responses[" + i + "]";
        Integer tokenCount = integer(r.tokenCount(), path + ".tokenCount");
        responses.add(
            new CandidateResponse(
                r.responseId(),
                r.text(),
                longValue(r.policyVersion(), path + ".policyVersion"),
                sampling(r.sampling(), path + ".sampling"),
                tokenCount == null ? 0 : tokenCount,
                r.finishReason()));
      }
    }
    t.setResponses(responses);
    if (in.transcriptId() == null) {
      throw new FeedbackValidationException(
          MISSING_FIELD,
          "transcriptId",
          "transcriptId is required: rankings refer to the transcript by it");
    }
    return FeedbackRules.validate(t, limits, now);
  }

  public HumanRanking ranking(Requests.Ranking in, String appId, String eventId, Instant now) {
    HumanRanking r = new HumanRanking();
    r.setEventId(eventId);
    r.setEventTime(time(in.eventTime(), now));
    r.setRankingId(in.rankingId() == null ? eventId : in.rankingId());
    r.setTranscriptId(in.transcriptId());
    r.setAppId(appId);
    boolean pairwise = in.choice() != null || in.responseA() != null || in.responseB() != null;
    if (pairwise && in.tiers() != null) {
      throw new FeedbackValidationException(
          INVALID_VALUE,
          "tiers",
          "give either tiers or the pairwise responseA/responseB/choice, not both");
    }
    if (pairwise) {
      r.setTiers(
          FeedbackRules.pairwiseTiers(
              in.responseA(), in.responseB(), Choice.parse(in.choice(), "choice"), limits));
    } else {
      r.setTiers(tiers(in.tiers()));
    }
    r.setAnnotatorId(in.annotatorId());
    r.setAnnotatorPool(FeedbackRules.parsePool(in.annotatorPool(), "annotatorPool"));
    r.setComment(in.comment() == null || in.comment().isBlank() ? null : in.comment());
    return FeedbackRules.validate(r, limits, now);
  }

  public Demonstration demonstration(
      Requests.Demonstration in, String appId, String eventId, Instant now) {
    Demonstration d = new Demonstration();
    d.setEventId(eventId);
    d.setEventTime(time(in.eventTime(), now));
    d.setDemonstrationId(in.demonstrationId() == null ? eventId : in.demonstrationId());
    d.setAppId(appId);
    d.setTurns(turns(in.turns()));
    d.setResponse(in.response());
    d.setAnnotatorId(in.annotatorId());
    return FeedbackRules.validate(d, limits, now);
  }

  private static List<RankTier> tiers(List<List<String>> in) {
    if (in == null) {
      return null;
    }
    List<RankTier> tiers = new ArrayList<>(in.size());
    for (List<String> ids : in) {
      tiers.add(new RankTier(ids == null ? List.of() : new ArrayList<>(ids)));
    }
    return tiers;
  }

  private static List<Turn> turns(List<Requests.Turn> in) {
    List<Turn> turns = new ArrayList<>();
    if (in == null) {
      return turns;
    }
    for (int i = 0; i < in.size(); i++) {
      Requests.Turn t = in.get(i);
      if (t == null) {
        throw new FeedbackValidationException(
            MISSING_FIELD, "turns[" + i + "]", "turns[" + i + "] is null");
      }
      turns.add(new Turn(FeedbackRules.parseRole(t.role(), "turns[" + i + "].role"), t.text()));
    }
    return turns;
  }

  private static SamplingParams sampling(Requests.Sampling s, String path) {
    if (s == null) {
      return null;
    }
    if (s.temperature() == null) {
      throw new FeedbackValidationException(
          MISSING_FIELD, path + ".temperature", path + ".temperature is required");
    }
    if (s.maxTokens() == null) {
      throw new FeedbackValidationException(
          MISSING_FIELD, path + ".maxTokens", path + ".maxTokens is required");
    }
    Double topP = number(s.topP(), path + ".topP");
    Integer topK = integer(s.topK(), path + ".topK");
    return new SamplingParams(
        number(s.temperature(), path + ".temperature"),
        topP == null ? 1.0 : topP,
        topK == null ? 0 : topK,
        integer(s.maxTokens(), path + ".maxTokens"),
        longValue(s.seed(), path + ".seed"));
  }

  /** An int-valued field: integral and within int range, else a 400 naming it. */
  static Integer integer(BigDecimal value, String field) {
    Long l = longValue(value, field);
    if (l != null && (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE)) {
      throw new FeedbackValidationException(
          INVALID_VALUE,
          field,
          field
              + " "
              + abbreviate(value)
              + " is out of range: an integer within ±"
              + Integer.MAX_VALUE);
    }
    return l == null ? null : l.intValue();
  }

  /** A long-valued field: integral and within long range, else a 400 naming it. */
  static Long longValue(BigDecimal value, String field) {
    if (value == null) {
      return null;
    }
    try {
      // longValueExact refuses huge exponents (1e999999999) and fractions without expanding them
      return value.longValueExact();
    } catch (ArithmeticException e) {
      throw new FeedbackValidationException(
          INVALID_VALUE,
          field,
          field + " " + abbreviate(value) + " is not an integer within the 64-bit range");
    }
  }

  /** A floating-point field: finite as a double (1e400 is not), else a 400 naming it. */
  static Double number(BigDecimal value, String field) {
    if (value == null) {
      return null;
    }
    double d = value.doubleValue();
    if (Double.isInfinite(d)) {
      throw new FeedbackValidationException(
          INVALID_VALUE, field, field + " " + abbreviate(value) + " is out of range for a double");
    }
    return d;
  }

  private static String abbreviate(BigDecimal value) {
    String s = value.toString();
    return s.length() <= 40 ? s : s.substring(0, 20) + "...(" + s.length() + " characters)";
  }

  /**
   * eventTime: absent means now; a string is parsed (ISO-8601 or epoch millis); a number is epoch
   * millis and must be an integer within the 64-bit range (2^64 + t is refused, not read as t).
   */
  static Instant time(Object value, Instant now) {
    if (value == null) {
      return now;
    }
    if (value instanceof String s) {
      return FeedbackRules.parseTime(s, "eventTime");
    }
    if (value instanceof Number n) {
      Long millis = epochMillis(n);
      if (millis != null) {
        return Instant.ofEpochMilli(millis);
      }
    }
    throw new FeedbackValidationException(
        BAD_TIMESTAMP,
        "eventTime",
        "eventTime must be an ISO-8601 timestamp string (e.g. 2025-05-01T12:00:00Z) or epoch milliseconds "
            + "(an integer)");
  }

  /** The number as an exact long, or null (fraction, beyond the long range, not finite). */
  private static Long epochMillis(Number n) {
    BigDecimal exact;
    if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte) {
      return n.longValue();
    } else if (n instanceof BigDecimal b) {
      exact = b;
    } else if (n instanceof BigInteger b) {
      exact = new BigDecimal(b);
    } else if (Double.isFinite(n.doubleValue())) {
      exact = new BigDecimal(n.doubleValue());
    } else {
      return null;
    }
    try {
      return exact.longValueExact();
    } catch (ArithmeticException e) {
      return null;
    }
  }
}
