package dev.flywheel.gateway.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.flywheel.kit.http.ApiError;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** The JSON response bodies. */
public final class Responses {

  private Responses() {}

  /**
   * Header on every 200 answer: {@code true} when the event id had been seen and nothing new was
   * written.
   */
  public static final String REPLAYED_HEADER = "Idempotent-Replayed";

  /** Request header: a client-chosen event id (batch: item i gets {@code <key>:<i>}). */
  public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

  /**
   * Where an event was written. Replays of the same event id return the same object.
   *
   * @param key the Kafka record key (transcriptId, or demonstrationId for demonstrations)
   */
  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Published(
      String eventId,
      String kind,
      String topic,
      int partition,
      long offset,
      String key,
      String eventTime,
      @Nullable String transcriptId,
      @Nullable String rankingId,
      @Nullable String demonstrationId) {}

  /**
   * One item of a batch answer: {@code status} 200 with {@code result}, or an error status with
   * {@code error}.
   */
  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record BatchItem(
      int index,
      int status,
      @Nullable Boolean duplicate,
      @Nullable Published result,
      @Nullable ApiError error) {}

  @Serdeable
  public record BatchResult(int accepted, int failed, List<BatchItem> items) {}
}
