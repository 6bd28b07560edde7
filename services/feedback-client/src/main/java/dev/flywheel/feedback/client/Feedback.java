package dev.flywheel.feedback.client;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.Role;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.Turn;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Typed builders for the three feedback events. {@code build()} fills the defaults (event id: a
 * random UUID; event time: now; the derived ids) and applies {@link FeedbackRules}, throwing a
 * {@link FeedbackValidationException} that names the field.
 *
 * <pre>{@code
 * HumanRanking r = Feedback.ranking("shop-app")
 *     .transcriptId("t-42").tier("r2").tier("r1", "r3").tier("r4")
 *     .annotatorId("ann-7").build();
 * }</pre>
 */
public final class Feedback {

  private Feedback() {}

  public static TranscriptBuilder transcript(String appId) {
    return new TranscriptBuilder(appId);
  }

  public static RankingBuilder ranking(String appId) {
    return new RankingBuilder(appId);
  }

  public static DemonstrationBuilder demonstration(String appId) {
    return new DemonstrationBuilder(appId);
  }

  /** Settings shared by the builders. */
  @SuppressWarnings("unchecked")
  public abstract static class Base<B extends Base<B>> {
    final String appId;
    String eventId;
    Instant eventTime;
    FeedbackRules.Limits limits = FeedbackRules.Limits.DEFAULT;
    Clock clock = Clock.systemUTC();

    Base(String appId) {
      this.appId = appId;
    }

    /**
     * Reuse the same id when retrying, so that the event is written once. Default: a random UUID.
     */
    public B eventId(String eventId) {
      this.eventId = eventId;
      return (B) this;
    }

    /** Default: now. */
    public B eventTime(Instant eventTime) {
      this.eventTime = eventTime;
      return (B) this;
    }

    public B limits(FeedbackRules.Limits limits) {
      this.limits = Objects.requireNonNull(limits);
      return (B) this;
    }

    public B clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock);
      return (B) this;
    }

    String resolvedEventId() {
      if (eventId == null) {
        eventId = UUID.randomUUID().toString();
      }
      return eventId;
    }

    Instant resolvedEventTime(Instant now) {
      return eventTime == null ? now : eventTime;
    }
  }

  public static final class TranscriptBuilder extends Base<TranscriptBuilder> {
    private String transcriptId;
    private String conversationId;
    private String userId;
    private String prompt;
    private final List<Turn> turns = new ArrayList<>();
    private final List<CandidateResponse> responses = new ArrayList<>();

    TranscriptBuilder(String appId) {
      super(appId);
    }

    /** Default: a random UUID (returned on the built event; rankings reference it). */
    public TranscriptBuilder transcriptId(String transcriptId) {
      this.transcriptId = transcriptId;
      return this;
    }

    /** Default: the transcript id. */
    public TranscriptBuilder conversationId(String conversationId) {
      this.conversationId = conversationId;
      return this;
    }

    public TranscriptBuilder userId(String userId) {
      this.userId = userId;
      return this;
    }

    public TranscriptBuilder turn(Role role, String text) {
      turns.add(new Turn(role, text));
      return this;
    }

    /** Default: the last turn's text. */
    public TranscriptBuilder prompt(String prompt) {
      this.prompt = prompt;
      return this;
    }

    public TranscriptBuilder response(String responseId, String text) {
      return response(new CandidateResponse(responseId, text, null, null, 0, null));
    }

    public TranscriptBuilder response(
        String responseId,
        String text,
        Long policyVersion,
        SamplingParams sampling,
        int tokenCount,
        String finishReason) {
      return response(
          new CandidateResponse(
              responseId, text, policyVersion, sampling, tokenCount, finishReason));
    }

    public TranscriptBuilder response(CandidateResponse response) {
      responses.add(response);
      return this;
    }

    public ChatTranscript build() {
      Instant now = clock.instant();
      ChatTranscript t = new ChatTranscript();
      t.setEventId(resolvedEventId());
      t.setEventTime(resolvedEventTime(now));
      if (transcriptId == null) {
        transcriptId = UUID.randomUUID().toString();
      }
      t.setTranscriptId(transcriptId);
      t.setConversationId(conversationId == null ? transcriptId : conversationId);
      t.setAppId(appId);
      t.setUserId(userId);
      t.setTurns(new ArrayList<>(turns));
      t.setPrompt(
          prompt != null || turns.isEmpty() ? prompt : turns.get(turns.size() - 1).getText());
      t.setResponses(new ArrayList<>(responses));
      return FeedbackRules.validate(t, limits, now);
    }
  }

  public static final class RankingBuilder extends Base<RankingBuilder> {
    private String rankingId;
    private String transcriptId;
    private final List<RankTier> tiers = new ArrayList<>();
    private String annotatorId;
    private AnnotatorPool pool = AnnotatorPool.TRAINING;
    private String comment;

    RankingBuilder(String appId) {
      super(appId);
    }

    /** Default: the event id. */
    public RankingBuilder rankingId(String rankingId) {
      this.rankingId = rankingId;
      return this;
    }

    public RankingBuilder transcriptId(String transcriptId) {
      this.transcriptId = transcriptId;
      return this;
    }

    /** Appends the next tier (worse than the ones before); several ids are tied. */
    public RankingBuilder tier(String... responseIds) {
      tiers.add(new RankTier(List.of(responseIds)));
      return this;
    }

    /** Replaces the tiers with the K = 2 ranking of a pairwise choice. */
    public RankingBuilder pairwise(String responseA, String responseB, Choice choice) {
      tiers.clear();
      tiers.addAll(FeedbackRules.pairwiseTiers(responseA, responseB, choice));
      return this;
    }

    public RankingBuilder annotatorId(String annotatorId) {
      this.annotatorId = annotatorId;
      return this;
    }

    public RankingBuilder pool(AnnotatorPool pool) {
      this.pool = pool;
      return this;
    }

    public RankingBuilder comment(String comment) {
      this.comment = comment;
      return this;
    }

    public HumanRanking build() {
      Instant now = clock.instant();
      HumanRanking r = new HumanRanking();
      r.setEventId(resolvedEventId());
      r.setEventTime(resolvedEventTime(now));
      r.setRankingId(rankingId == null ? eventId : rankingId);
      r.setTranscriptId(transcriptId);
      r.setAppId(appId);
      r.setTiers(new ArrayList<>(tiers));
      r.setAnnotatorId(annotatorId);
      r.setAnnotatorPool(pool);
      r.setComment(comment);
      return FeedbackRules.validate(r, limits, now);
    }
  }

  public static final class DemonstrationBuilder extends Base<DemonstrationBuilder> {
    private String demonstrationId;
    private final List<Turn> turns = new ArrayList<>();
    private String response;
    private String annotatorId;

    DemonstrationBuilder(String appId) {
      super(appId);
    }

    /** Default: the event id. */
    public DemonstrationBuilder demonstrationId(String demonstrationId) {
      this.demonstrationId = demonstrationId;
      return this;
    }

    public DemonstrationBuilder turn(Role role, String text) {
      turns.add(new Turn(role, text));
      return this;
    }

    public DemonstrationBuilder response(String response) {
      this.response = response;
      return this;
    }

    public DemonstrationBuilder annotatorId(String annotatorId) {
      this.annotatorId = annotatorId;
      return this;
    }

    public Demonstration build() {
      Instant now = clock.instant();
      Demonstration d = new Demonstration();
      d.setEventId(resolvedEventId());
      d.setEventTime(resolvedEventTime(now));
      d.setDemonstrationId(demonstrationId == null ? eventId : demonstrationId);
      d.setAppId(appId);
      d.setTurns(new ArrayList<>(turns));
      d.setResponse(response);
      d.setAnnotatorId(annotatorId);
      return FeedbackRules.validate(d, limits, now);
    }
  }
}
