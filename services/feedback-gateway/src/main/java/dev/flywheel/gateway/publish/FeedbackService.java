package dev.flywheel.gateway.publish;

import dev.flywheel.feedback.client.FeedbackTopics;
import dev.flywheel.gateway.GatewayMetrics;
import dev.flywheel.gateway.api.Responses.Published;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.apache.avro.specific.SpecificRecord;

/**
 * Publishes validated events once per (app, kind, event id) within the idempotency window: the
 * first request sends; a duplicate (sequential or concurrent) gets the first one's result.
 */
@Singleton
public class FeedbackService {

  /** The result of one event. */
  public record Outcome(Published published, boolean duplicate) {}

  /** The event id was used before for a different payload. */
  public static class IdempotencyConflictException extends RuntimeException {
    public IdempotencyConflictException(String message) {
      super(message);
    }
  }

  private final FeedbackEventPublisher publisher;
  private final IdempotencyCache<Published> cache;
  private final GatewayMetrics metrics;

  public FeedbackService(
      FeedbackEventPublisher publisher, IdempotencyCache<Published> cache, GatewayMetrics metrics) {
    this.publisher = publisher;
    this.cache = cache;
    this.metrics = metrics;
  }

  /**
   * @param fingerprint digest of the request as the client sent it; a reused event id with a
   *     different fingerprint is an {@link IdempotencyConflictException}
   */
  public CompletableFuture<Outcome> submit(
      String kind, String appId, SpecificRecord event, Instant eventTime, byte[] fingerprint) {
    String eventId = FeedbackTopics.eventIdOf(event);
    String cacheKey = appId + '\u0000' + kind + '\u0000' + eventId;
    IdempotencyCache.Claim<Published> claim = cache.claim(cacheKey, fingerprint);
    if (!claim.owner()) {
      if (!claim.samePayload()) {
        metrics.rejected(kind, "idempotency_conflict");
        return CompletableFuture.failedFuture(
            new IdempotencyConflictException(
                "event id \""
                    + eventId
                    + "\" was already used for a different "
                    + kind
                    + " within the idempotency window"));
      }
      return claim
          .outcome()
          .thenApply(
              p -> {
                metrics.duplicate(kind);
                return new Outcome(p, true);
              });
    }
    String topic = FeedbackTopics.topicOf(event).name();
    String key = FeedbackTopics.keyOf(event);
    long start = System.nanoTime();
    return publisher
        .publish(topic, key, event)
        .handle(
            (metadata, error) -> {
              metrics.produceLatency(kind, error == null, System.nanoTime() - start);
              if (error != null) {
                cache.fail(cacheKey, claim, error);
                metrics.rejected(
                    kind,
                    error instanceof KafkaUnavailableException
                        ? "kafka_unavailable"
                        : "internal_error");
                throw error instanceof RuntimeException r ? r : new IllegalStateException(error);
              }
              Published published =
                  published(
                      kind, event, eventTime, topic, key, metadata.partition(), metadata.offset());
              cache.complete(claim, published);
              metrics.accepted(kind);
              return new Outcome(published, false);
            });
  }

  private static Published published(
      String kind,
      SpecificRecord event,
      Instant eventTime,
      String topic,
      String key,
      int partition,
      long offset) {
    String eventId = FeedbackTopics.eventIdOf(event);
    String transcriptId = null;
    String rankingId = null;
    String demonstrationId = null;
    if (event instanceof dev.flywheel.events.ChatTranscript t) {
      transcriptId = t.getTranscriptId();
    } else if (event instanceof dev.flywheel.events.HumanRanking r) {
      transcriptId = r.getTranscriptId();
      rankingId = r.getRankingId();
    } else if (event instanceof dev.flywheel.events.Demonstration d) {
      demonstrationId = d.getDemonstrationId();
    }
    return new Published(
        eventId,
        kind,
        topic,
        partition,
        offset,
        key,
        eventTime.toString(),
        transcriptId,
        rankingId,
        demonstrationId);
  }
}
