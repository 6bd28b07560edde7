package dev.flywheel.gateway.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.math.BigDecimal;
import java.util.List;

/**
 * The JSON request bodies. Every field is nullable here so that a missing one is reported by the
 * gateway's own validation with its name, not as a generic decoding failure. Numbers are read as
 * {@link BigDecimal} for the same reason: {@code 1e400} or {@code 99999999999999999999} in an int
 * field is a 400 naming that field ({@link EventMapper}), not a decoding failure naming the body.
 * eventTime is an ISO-8601 string with offset or epoch milliseconds; appId is never read from the
 * body (it comes from the key).
 */
public final class Requests {

  private Requests() {}

  @Serdeable
  public record Turn(@Nullable String role, @Nullable String text) {}

  @Serdeable
  public record Sampling(
      @Nullable BigDecimal temperature,
      @Nullable BigDecimal topP,
      @Nullable BigDecimal topK,
      @Nullable BigDecimal maxTokens,
      @Nullable BigDecimal seed) {}

  @Serdeable
  public record Response(
      @Nullable String responseId,
      @Nullable String text,
      @Nullable BigDecimal policyVersion,
      @Nullable Sampling sampling,
      @Nullable BigDecimal tokenCount,
      @Nullable String finishReason) {}

  @Serdeable
  public record Transcript(
      @Nullable String eventId,
      @Nullable Object eventTime,
      @Nullable String transcriptId,
      @Nullable String conversationId,
      @Nullable String userId,
      @Nullable List<Turn> turns,
      @Nullable String prompt,
      @Nullable List<Response> responses)
      implements Item {}

  /**
   * A ranking: either {@code tiers} (K-way, best first, ties within a tier) or the pairwise form
   * {@code responseA}, {@code responseB}, {@code choice} ("A", "B" or "tie").
   */
  @Serdeable
  public record Ranking(
      @Nullable String eventId,
      @Nullable Object eventTime,
      @Nullable String rankingId,
      @Nullable String transcriptId,
      @Nullable List<List<String>> tiers,
      @Nullable String responseA,
      @Nullable String responseB,
      @Nullable String choice,
      @Nullable String annotatorId,
      @Nullable String annotatorPool,
      @Nullable String comment)
      implements Item {}

  @Serdeable
  public record Demonstration(
      @Nullable String eventId,
      @Nullable Object eventTime,
      @Nullable String demonstrationId,
      @Nullable List<Turn> turns,
      @Nullable String response,
      @Nullable String annotatorId)
      implements Item {}

  @Serdeable
  public record TranscriptBatch(@Nullable List<Transcript> items) implements Batch<Transcript> {}

  @Serdeable
  public record RankingBatch(@Nullable List<Ranking> items) implements Batch<Ranking> {}

  @Serdeable
  public record DemonstrationBatch(@Nullable List<Demonstration> items)
      implements Batch<Demonstration> {}

  /** One event of a request. */
  public interface Item {
    String eventId();
  }

  public interface Batch<T extends Item> {
    List<T> items();
  }
}
