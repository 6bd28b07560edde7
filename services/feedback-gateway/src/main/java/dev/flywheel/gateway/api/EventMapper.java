package dev.flywheel.gateway.api;

import static dev.flywheel.gateway.client.FeedbackRules.BAD_TIMESTAMP;
import static dev.flywheel.gateway.client.FeedbackRules.INVALID_VALUE;
import static dev.flywheel.gateway.client.FeedbackRules.MISSING_FIELD;

import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.Turn;
import dev.flywheel.gateway.client.Choice;
import dev.flywheel.gateway.client.FeedbackRules;
import dev.flywheel.gateway.client.FeedbackValidationException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON request → Avro event: fills the defaults (event time now, derived ids), stamps the app id of the
 * API key, converts the pairwise form to tiers, and applies {@link FeedbackRules}. Every problem is a
 * {@link FeedbackValidationException} naming the JSON field.
 */
public final class EventMapper {

  private final FeedbackRules.Limits limits;

  public EventMapper(FeedbackRules.Limits limits) {
    this.limits = limits;
  }

  public ChatTranscript transcript(Requests.Transcript in, String appId, String eventId, Instant now) {
    ChatTranscript t = new ChatTranscript();
    t.setEventId(eventId);
    t.setEventTime(time(in.eventTime(), now));
    t.setTranscriptId(in.transcriptId());
    t.setConversationId(in.conversationId() == null ? in.transcriptId() : in.conversationId());
    t.setAppId(appId);
    t.setUserId(in.userId());
    t.setTurns(turns(in.turns()));
    t.setPrompt(in.prompt() != null || t.getTurns().isEmpty()
        ? in.prompt() : t.getTurns().get(t.getTurns().size() - 1).getText());
    List<CandidateResponse> responses = new ArrayList<>();
    if (in.responses() != null) {
      for (int i = 0; i < in.responses().size(); i++) {
        Requests.Response r = in.responses().get(i);
        if (r == null) {
          throw new FeedbackValidationException(MISSING_FIELD, "responses[" + i + "]", "responses[" + i + "] is null");
        }
        responses.add(new CandidateResponse(r.responseId(), r.text(), r.policyVersion(),
            sampling(r.sampling(), "responses[" + i + "].sampling"),
            r.tokenCount() == null ? 0 : r.tokenCount(), r.finishReason()));
      }
    }
    t.setResponses(responses);
    if (in.transcriptId() == null) {
      throw new FeedbackValidationException(MISSING_FIELD, "transcriptId",
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
      throw new FeedbackValidationException(INVALID_VALUE, "tiers",
          "give either tiers or the pairwise responseA/responseB/choice, not both");
    }
    if (pairwise) {
      r.setTiers(FeedbackRules.pairwiseTiers(in.responseA(), in.responseB(), Choice.parse(in.choice(), "choice")));
    } else {
      r.setTiers(tiers(in.tiers()));
    }
    r.setAnnotatorId(in.annotatorId());
    r.setAnnotatorPool(FeedbackRules.parsePool(in.annotatorPool(), "annotatorPool"));
    r.setComment(in.comment() == null || in.comment().isBlank() ? null : in.comment());
    return FeedbackRules.validate(r, limits, now);
  }

  public Demonstration demonstration(Requests.Demonstration in, String appId, String eventId, Instant now) {
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
        throw new FeedbackValidationException(MISSING_FIELD, "turns[" + i + "]", "turns[" + i + "] is null");
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
      throw new FeedbackValidationException(MISSING_FIELD, path + ".temperature", path + ".temperature is required");
    }
    if (s.maxTokens() == null) {
      throw new FeedbackValidationException(MISSING_FIELD, path + ".maxTokens", path + ".maxTokens is required");
    }
    return new SamplingParams(s.temperature(), s.topP() == null ? 1.0 : s.topP(),
        s.topK() == null ? 0 : s.topK(), s.maxTokens(), s.seed());
  }

  /** eventTime: absent means now; a string is parsed (ISO-8601 or epoch millis); a number is epoch millis. */
  static Instant time(Object value, Instant now) {
    if (value == null) {
      return now;
    }
    if (value instanceof String s) {
      return FeedbackRules.parseTime(s, "eventTime");
    }
    if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return Instant.ofEpochMilli(n.longValue());
    }
    throw new FeedbackValidationException(BAD_TIMESTAMP, "eventTime",
        "eventTime must be an ISO-8601 timestamp string (e.g. 2025-05-01T12:00:00Z) or epoch milliseconds");
  }
}
