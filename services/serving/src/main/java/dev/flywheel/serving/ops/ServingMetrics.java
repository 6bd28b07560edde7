package dev.flywheel.serving.ops;

import dev.flywheel.kit.auth.ApiKeyRejected;
import dev.flywheel.serving.engine.BatchObserver;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.versions.ModelManager;
import dev.flywheel.serving.versions.Routing;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.runtime.event.annotation.EventListener;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Serving's meters, as Prometheus names them ({@code /prometheus}):
 *
 * <ul>
 *   <li>{@code flywheel_serving_requests_total{outcome,stream}}: completions answered, by outcome
 *       (ok or the error code: invalid_request_error, model_not_found, queue_full, no_live_version,
 *       ...)
 *   <li>{@code flywheel_serving_request_latency_seconds{stream}} (histogram): arrival to last byte
 *       decided (for non-streaming: including the transcript acknowledgement)
 *   <li>{@code flywheel_serving_time_to_first_token_seconds} (histogram): arrival to the start of
 *       decoding plus the first step
 *   <li>{@code flywheel_serving_tokens_generated_total{model}}, {@code
 *       flywheel_serving_prompt_tokens_total}
 *   <li>{@code flywheel_serving_batch_rows}, {@code flywheel_serving_batch_requests} (summaries:
 *       size of each decode batch in rows and in requests), {@code flywheel_serving_batch_seconds}
 *       (decode time per batch), {@code flywheel_serving_batch_failures_total}
 *   <li>{@code flywheel_serving_queue_rows} (gauge): rows waiting for a batch, all served models
 *   <li>{@code flywheel_serving_live_version}, {@code flywheel_serving_canary_version} (gauges; -1
 *       when none), {@code flywheel_serving_loaded_models}
 *   <li>{@code flywheel_serving_model_loads_total{outcome}}: ok, or the refusal's error type
 *       (ARTIFACT_INTEGRITY, ...); {@code flywheel_serving_model_load_seconds}
 *   <li>{@code flywheel_serving_transcripts_total{outcome}}: ok / error
 * </ul>
 */
@Singleton
public class ServingMetrics implements BatchObserver, ModelManager.LoadListener {

  private final MeterRegistry registry;
  private final AtomicReference<Routing> routing = new AtomicReference<>(Routing.EMPTY);
  private final DistributionSummary batchRows;
  private final DistributionSummary batchRequests;
  private final Timer batchTime;
  private final Counter promptTokens;

  public ServingMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.batchRows =
        DistributionSummary.builder("flywheel.serving.batch.rows")
            .description("Rows (candidates) per decode batch")
            .publishPercentileHistogram()
            .minimumExpectedValue(1.0)
            .maximumExpectedValue(256.0)
            .register(registry);
    this.batchRequests =
        DistributionSummary.builder("flywheel.serving.batch.requests")
            .description("Requests per decode batch")
            .register(registry);
    this.batchTime =
        Timer.builder("flywheel.serving.batch")
            .description("Decode time per batch")
            .register(registry);
    this.promptTokens =
        Counter.builder("flywheel.serving.prompt.tokens")
            .description("Prompt tokens received")
            .register(registry);
    Gauge.builder(
            "flywheel.serving.queue.rows",
            routing,
            r -> r.get().served().values().stream().mapToInt(ServedModel::queuedRows).sum())
        .description("Rows waiting for a decode batch")
        .register(registry);
    Gauge.builder(
            "flywheel.serving.live.version",
            routing,
            r -> r.get().live() == null ? -1 : r.get().live().version())
        .description("Policy version answering the live alias (-1: none)")
        .register(registry);
    Gauge.builder(
            "flywheel.serving.canary.version",
            routing,
            r -> r.get().canary() == null ? -1 : r.get().canary().version())
        .description("Policy version taking the canary share (-1: none)")
        .register(registry);
    Gauge.builder("flywheel.serving.loaded.models", routing, r -> r.get().served().size())
        .description("Policy versions loaded and addressable")
        .register(registry);
  }

  public void request(String outcome, boolean stream, long nanos) {
    Counter.builder("flywheel.serving.requests")
        .description("Chat completion requests answered")
        .tag("outcome", outcome)
        .tag("stream", Boolean.toString(stream))
        .register(registry)
        .increment();
    if (nanos > 0) {
      Timer.builder("flywheel.serving.request.latency")
          .description("Request latency")
          .tag("stream", Boolean.toString(stream))
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1))
          .maximumExpectedValue(Duration.ofSeconds(60))
          .register(registry)
          .record(Duration.ofNanos(nanos));
    }
  }

  public void timeToFirstToken(long nanos) {
    Timer.builder("flywheel.serving.time.to.first.token")
        .description("Arrival to the first decode step")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry)
        .record(Duration.ofNanos(nanos));
  }

  public void promptTokens(int tokens) {
    promptTokens.increment(tokens);
  }

  public void transcript(boolean ok) {
    Counter.builder("flywheel.serving.transcripts")
        .description("Transcripts written (acks=all) or failed")
        .tag("outcome", ok ? "ok" : "error")
        .register(registry)
        .increment();
  }

  @Override
  public void batchDecoded(String model, int requests, int rows, long tokens, long nanos) {
    batchRows.record(rows);
    batchRequests.record(requests);
    batchTime.record(Duration.ofNanos(nanos));
    Counter.builder("flywheel.serving.tokens.generated")
        .description("Tokens sampled")
        .tag("model", model)
        .register(registry)
        .increment(tokens);
  }

  @Override
  public void deadlineExceeded(String model, int rows) {
    Counter.builder("flywheel.serving.decode.deadline.rows")
        .description(
            "Rows ended early (finish reason length) because their batch passed decode-timeout")
        .tag("model", model)
        .register(registry)
        .increment(rows);
  }

  @Override
  public void batchFailed(String model, Throwable error) {
    Counter.builder("flywheel.serving.batch.failures")
        .description("Decode batches that failed")
        .tag("model", model)
        .register(registry)
        .increment();
  }

  @Override
  public void loaded(long version, long nanos) {
    Counter.builder("flywheel.serving.model.loads")
        .description("Policy version loads, by outcome")
        .tag("outcome", "ok")
        .register(registry)
        .increment();
    Timer.builder("flywheel.serving.model.load")
        .description("Fetch, verify, load and warm up a version")
        .register(registry)
        .record(Duration.ofNanos(nanos));
  }

  @Override
  public void refused(long version, String errorType) {
    Counter.builder("flywheel.serving.model.loads")
        .description("Policy version loads, by outcome")
        .tag("outcome", errorType)
        .register(registry)
        .increment();
  }

  @Override
  public void routingChanged(Routing current) {
    routing.set(current);
  }

  @EventListener
  void onAuthRejected(ApiKeyRejected event) {
    if (event.path() != null && event.path().startsWith("/v1/chat")) {
      request(
          "forbidden".equals(event.reason()) ? "permission_denied" : "invalid_api_key", false, 0);
    }
  }
}
