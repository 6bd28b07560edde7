package dev.flywheel.gateway.api;

import static dev.flywheel.gateway.api.Responses.IDEMPOTENCY_KEY_HEADER;
import static dev.flywheel.gateway.api.Responses.REPLAYED_HEADER;

import dev.flywheel.feedback.client.FeedbackRules;
import dev.flywheel.feedback.client.FeedbackValidationException;
import dev.flywheel.gateway.GatewayConfig;
import dev.flywheel.gateway.GatewayMetrics;
import dev.flywheel.gateway.api.Responses.BatchItem;
import dev.flywheel.gateway.api.Responses.BatchResult;
import dev.flywheel.gateway.publish.FeedbackService;
import dev.flywheel.gateway.publish.FeedbackService.IdempotencyConflictException;
import dev.flywheel.gateway.publish.KafkaUnavailableException;
import dev.flywheel.kit.auth.ApiPrincipal;
import dev.flywheel.kit.auth.RequiresApiKey;
import dev.flywheel.kit.http.ApiError;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.type.Argument;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.Post;
import io.micronaut.json.JsonMapper;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feedback API: JSON in, Avro on Kafka out. Answers 200 only after the broker acknowledged the
 * write ({@code acks=all}); a retried event id answers 200 with the first result and {@code
 * Idempotent-Replayed: true}.
 *
 * <p>Batches: validation is all-or-nothing (any invalid item: 400 naming {@code items[i].field},
 * nothing written); delivery is acknowledged per item (each item's status and result in the body;
 * the overall status is 200 when every item was written, otherwise the first failing class: 503 if
 * any item could not be written — retrying the whole batch with the same event ids is safe — else
 * 422 or 500).
 */
@Controller("/v1")
public class FeedbackController {

  private static final Logger LOG = LoggerFactory.getLogger(FeedbackController.class);
  public static final String TRANSCRIPTS_SCOPE = "transcripts:write";
  public static final String RANKINGS_SCOPE = "rankings:write";
  public static final String DEMONSTRATIONS_SCOPE = "demonstrations:write";

  /** Maps one request item to its Avro event (validating it). */
  @FunctionalInterface
  private interface Mapper<T> {
    SpecificRecord map(T item, String appId, String eventId, Instant now);
  }

  /** A validated item, ready to submit. */
  private record Prepared(SpecificRecord event, Instant eventTime, byte[] fingerprint) {}

  private final FeedbackService service;
  private final EventMapper mapper;
  private final GatewayConfig config;
  private final GatewayMetrics metrics;
  private final JsonMapper json;

  public FeedbackController(
      FeedbackService service,
      EventMapper mapper,
      GatewayConfig config,
      GatewayMetrics metrics,
      JsonMapper json) {
    this.service = service;
    this.mapper = mapper;
    this.config = config;
    this.metrics = metrics;
    this.json = json;
  }

  @Post("/transcripts")
  @RequiresApiKey(scope = TRANSCRIPTS_SCOPE)
  public CompletableFuture<HttpResponse<?>> transcript(
      HttpRequest<?> request,
      @Body Requests.Transcript body,
      @Nullable @Header(IDEMPOTENCY_KEY_HEADER) String idempotencyKey) {
    return single(
        "transcript", request, body, Requests.Transcript.class, idempotencyKey, mapper::transcript);
  }

  @Post("/transcripts:batch")
  @RequiresApiKey(scope = TRANSCRIPTS_SCOPE)
  public CompletableFuture<HttpResponse<?>> transcripts(
      HttpRequest<?> request,
      @Body Requests.TranscriptBatch body,
      @Nullable @Header(IDEMPOTENCY_KEY_HEADER) String idempotencyKey) {
    return batch(
        "transcript", request, body, Requests.Transcript.class, idempotencyKey, mapper::transcript);
  }

  @Post("/rankings")
  @RequiresApiKey(scope = RANKINGS_SCOPE)
  public CompletableFuture<HttpResponse<?>> ranking(
      HttpRequest<?> request,
      @Body Requests.Ranking body,
      @Nullable @Header(IDEMPOTENCY_KEY_HEADER) String idempotencyKey) {
    return single(
        "ranking", request, body, Requests.Ranking.class, idempotencyKey, mapper::ranking);
  }

  @Post("/rankings:batch")
  @RequiresApiKey(scope = RANKINGS_SCOPE)
  public CompletableFuture<HttpResponse<?>> rankings(
      HttpRequest<?> request,
      @Body Requests.RankingBatch body,
      @Nullable @Header(IDEMPOTENCY_KEY_HEADER) String idempotencyKey) {
    return batch("ranking", request, body, Requests.Ranking.class, idempotencyKey, mapper::ranking);
  }

  @Post("/demonstrations")
  @RequiresApiKey(scope = DEMONSTRATIONS_SCOPE)
  public CompletableFuture<HttpResponse<?>> demonstration(
      HttpRequest<?> request,
      @Body Requests.Demonstration body,
      @Nullable @Header(IDEMPOTENCY_KEY_HEADER) String idempotencyKey) {
    return single(
        "demonstration",
        request,
        body,
        Requests.Demonstration.class,
        idempotencyKey,
        mapper::demonstration);
  }

  @Post("/demonstrations:batch")
  @RequiresApiKey(scope = DEMONSTRATIONS_SCOPE)
  public CompletableFuture<HttpResponse<?>> demonstrations(
      HttpRequest<?> request,
      @Body Requests.DemonstrationBatch body,
      @Nullable @Header(IDEMPOTENCY_KEY_HEADER) String idempotencyKey) {
    return batch(
        "demonstration",
        request,
        body,
        Requests.Demonstration.class,
        idempotencyKey,
        mapper::demonstration);
  }

  // ------------------------------------------------------------------------------------------
  // single

  private <T extends Requests.Item> CompletableFuture<HttpResponse<?>> single(
      String kind,
      HttpRequest<?> request,
      T body,
      Class<T> type,
      @Nullable String idempotencyKey,
      Mapper<T> toEvent) {
    String appId = ApiPrincipal.of(request).appId();
    Prepared prepared;
    try {
      checkIdempotencyKey(idempotencyKey, config.maxIdempotencyKeyLength());
      String eventId = eventId(body.eventId(), idempotencyKey, -1, "eventId");
      prepared = prepare(body, type, appId, eventId, Instant.now(), toEvent);
    } catch (FeedbackValidationException e) {
      metrics.rejected(kind, e.code());
      return CompletableFuture.completedFuture(invalid(e));
    }
    return service
        .submit(kind, appId, prepared.event(), prepared.eventTime(), prepared.fingerprint())
        .handle(
            (outcome, error) -> {
              if (error != null) {
                return failure(kind, unwrap(error));
              }
              return HttpResponse.ok(outcome.published())
                  .header(REPLAYED_HEADER, Boolean.toString(outcome.duplicate()));
            });
  }

  // ------------------------------------------------------------------------------------------
  // batch

  private <T extends Requests.Item> CompletableFuture<HttpResponse<?>> batch(
      String kind,
      HttpRequest<?> request,
      Requests.Batch<T> body,
      Class<T> type,
      @Nullable String idempotencyKey,
      Mapper<T> toEvent) {
    String appId = ApiPrincipal.of(request).appId();
    List<T> items = body.items();
    List<Prepared> prepared = new ArrayList<>();
    try {
      checkIdempotencyKey(idempotencyKey, config.maxIdempotencyKeyLength());
      if (items == null || items.isEmpty()) {
        throw new FeedbackValidationException(
            FeedbackRules.MISSING_FIELD, "items", "items must hold at least one " + kind);
      }
      if (items.size() > config.getMaxBatchItems()) {
        throw new FeedbackValidationException(
            "too_many_items",
            "items",
            "a batch holds at most " + config.getMaxBatchItems() + " items; got " + items.size());
      }
      Instant now = Instant.now();
      Map<String, Integer> seen = new HashMap<>();
      for (int i = 0; i < items.size(); i++) {
        String prefix = "items[" + i + "].";
        T item = items.get(i);
        if (item == null) {
          throw new FeedbackValidationException(
              FeedbackRules.MISSING_FIELD, "items[" + i + "]", "items[" + i + "] is null");
        }
        try {
          String eventId = eventId(item.eventId(), idempotencyKey, i, "eventId");
          Integer earlier = seen.putIfAbsent(eventId, i);
          if (earlier != null) {
            throw new FeedbackValidationException(
                "duplicate_event_id",
                "eventId",
                "event id \"" + eventId + "\" is also used by items[" + earlier + "]");
          }
          prepared.add(prepare(item, type, appId, eventId, now, toEvent));
        } catch (FeedbackValidationException e) {
          throw e.prefixed(prefix);
        }
      }
    } catch (FeedbackValidationException e) {
      metrics.rejected(kind, e.code());
      return CompletableFuture.completedFuture(invalid(e));
    }
    List<CompletableFuture<BatchItem>> results = new ArrayList<>(prepared.size());
    for (int i = 0; i < prepared.size(); i++) {
      int index = i;
      Prepared p = prepared.get(i);
      results.add(
          service
              .submit(kind, appId, p.event(), p.eventTime(), p.fingerprint())
              .handle(
                  (outcome, error) -> {
                    if (error == null) {
                      return new BatchItem(
                          index,
                          200,
                          outcome.duplicate() ? Boolean.TRUE : null,
                          outcome.published(),
                          null);
                    }
                    MutableHttpResponse<ApiError> failure = failure(kind, unwrap(error));
                    return new BatchItem(index, failure.code(), null, null, failure.body());
                  }));
    }
    return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
        .thenApply(
            done -> {
              List<BatchItem> batchItems = results.stream().map(CompletableFuture::join).toList();
              int failed = (int) batchItems.stream().filter(b -> b.status() != 200).count();
              boolean allReplayed =
                  batchItems.stream().allMatch(b -> Boolean.TRUE.equals(b.duplicate()));
              BatchResult result = new BatchResult(batchItems.size() - failed, failed, batchItems);
              if (failed == 0) {
                return HttpResponse.ok(result)
                    .header(REPLAYED_HEADER, Boolean.toString(allReplayed));
              }
              int status =
                  batchItems.stream().anyMatch(b -> b.status() == 503)
                      ? 503
                      : batchItems.stream().anyMatch(b -> b.status() == 422)
                          ? 422
                          : batchItems.stream()
                              .filter(b -> b.status() != 200)
                              .findFirst()
                              .orElseThrow()
                              .status();
              MutableHttpResponse<BatchResult> response =
                  HttpResponse.status(HttpStatus.valueOf(status)).body(result);
              if (status == 503) {
                response.header(HttpHeaders.RETRY_AFTER, retryAfterSeconds());
              }
              return response;
            });
  }

  // ------------------------------------------------------------------------------------------
  // parts

  private <T> Prepared prepare(
      T item, Class<T> type, String appId, String eventId, Instant now, Mapper<T> toEvent) {
    SpecificRecord event = toEvent.map(item, appId, eventId, now);
    Instant eventTime = (Instant) event.get(event.getSchema().getField("eventTime").pos());
    return new Prepared(event, eventTime, fingerprint(item, type));
  }

  /**
   * Body eventId, else the Idempotency-Key (batch item i: {@code <key>:<i>}), else a random UUID.
   */
  private static String eventId(
      @Nullable String fromBody, @Nullable String idempotencyKey, int index, String field) {
    String fromHeader =
        idempotencyKey == null || idempotencyKey.isBlank()
            ? null
            : index < 0 ? idempotencyKey.trim() : idempotencyKey.trim() + ":" + index;
    if (fromBody != null) {
      if (fromBody.isBlank()) {
        throw new FeedbackValidationException(
            FeedbackRules.MISSING_FIELD, field, "eventId must not be blank");
      }
      if (fromHeader != null && !fromHeader.equals(fromBody)) {
        throw new FeedbackValidationException(
            FeedbackRules.INVALID_VALUE,
            field,
            "eventId "
                + FeedbackRules.quote(fromBody)
                + " differs from the Idempotency-Key header ("
                + FeedbackRules.quote(fromHeader)
                + "); send one or make them equal");
      }
      return fromBody;
    }
    return fromHeader != null ? fromHeader : UUID.randomUUID().toString();
  }

  private static void checkIdempotencyKey(@Nullable String key, int maxLength) {
    if (key != null && key.length() > maxLength) {
      throw new FeedbackValidationException(
          FeedbackRules.TOO_LONG,
          IDEMPOTENCY_KEY_HEADER,
          "the Idempotency-Key header is longer than "
              + maxLength
              + " characters (max-id-length - 8)");
    }
  }

  /**
   * SHA-256 of the item as the client sent it (before defaults), to tell a retry from a reused id.
   */
  private <T> byte[] fingerprint(T item, Class<T> type) {
    try {
      return MessageDigest.getInstance("SHA-256")
          .digest(json.writeValueAsBytes(Argument.of(type), item));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot fingerprint the request", e);
    }
  }

  private static HttpResponse<ApiError> invalid(FeedbackValidationException e) {
    return HttpResponse.badRequest(new ApiError(e.code(), e.getMessage(), e.field()));
  }

  private MutableHttpResponse<ApiError> failure(String kind, Throwable error) {
    if (error instanceof KafkaUnavailableException) {
      return HttpResponse.<ApiError>status(HttpStatus.SERVICE_UNAVAILABLE)
          .body(
              ApiError.of(
                  "kafka_unavailable",
                  error.getMessage() + "; nothing was written, retry with the same " + "event id"))
          .header(HttpHeaders.RETRY_AFTER, retryAfterSeconds());
    }
    if (error instanceof IdempotencyConflictException) {
      return HttpResponse.<ApiError>status(HttpStatus.UNPROCESSABLE_ENTITY)
          .body(new ApiError("idempotency_conflict", error.getMessage(), "eventId"));
    }
    if (error instanceof RecordTooLargeException) {
      metrics.rejected(kind, FeedbackRules.PAYLOAD_TOO_LARGE);
      return HttpResponse.<ApiError>status(HttpStatus.BAD_REQUEST)
          .body(
              new ApiError(
                  FeedbackRules.PAYLOAD_TOO_LARGE,
                  "Kafka refused the event as too large: " + error.getMessage(),
                  null));
    }
    LOG.error("publishing a {} failed", kind, error);
    return HttpResponse.<ApiError>status(HttpStatus.INTERNAL_SERVER_ERROR)
        .body(ApiError.of("internal_error", "the event was not written: " + error.getMessage()));
  }

  private String retryAfterSeconds() {
    return Long.toString(Math.max(1, config.getRetryAfter().toSeconds()));
  }

  private static Throwable unwrap(Throwable error) {
    while (error instanceof CompletionException && error.getCause() != null) {
      error = error.getCause();
    }
    return error;
  }
}
