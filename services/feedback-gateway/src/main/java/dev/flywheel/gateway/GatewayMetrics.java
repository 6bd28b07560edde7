package dev.flywheel.gateway;

import dev.flywheel.kit.auth.ApiKeyRejected;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.runtime.event.annotation.EventListener;
import jakarta.inject.Singleton;
import java.time.Duration;

/**
 * The gateway's meters (Prometheus names): {@code flywheel_gateway_events_accepted_total{kind}},
 * {@code flywheel_gateway_events_duplicate_total{kind}}, {@code
 * flywheel_gateway_events_rejected_total{kind,reason}} (reason: a validation code, unauthorized,
 * forbidden, kafka_unavailable, ...), {@code
 * flywheel_gateway_produce_latency_seconds{kind,outcome}} (histogram: send to broker
 * acknowledgement).
 */
@Singleton
public class GatewayMetrics {

  private final MeterRegistry registry;

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public void accepted(String kind) {
    Counter.builder("flywheel.gateway.events.accepted")
        .description("Events written to Kafka and acknowledged")
        .tag("kind", kind)
        .register(registry)
        .increment();
  }

  public void duplicate(String kind) {
    Counter.builder("flywheel.gateway.events.duplicate")
        .description(
            "Requests whose event id had already been written (answered from the idempotency cache)")
        .tag("kind", kind)
        .register(registry)
        .increment();
  }

  public void rejected(String kind, String reason) {
    Counter.builder("flywheel.gateway.events.rejected")
        .description("Events refused, by reason")
        .tag("kind", kind)
        .tag("reason", reason)
        .register(registry)
        .increment();
  }

  public void produceLatency(String kind, boolean ok, long nanos) {
    Timer.builder("flywheel.gateway.produce.latency")
        .description(
            "From handing an event to the producer to the broker's acknowledgement (or failure)")
        .tag("kind", kind)
        .tag("outcome", ok ? "ok" : "error")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry)
        .record(Duration.ofNanos(nanos));
  }

  @EventListener
  void onAuthRejected(ApiKeyRejected event) {
    rejected(
        kindOf(event.path()), "forbidden".equals(event.reason()) ? "forbidden" : "unauthorized");
  }

  static String kindOf(String path) {
    if (path.contains("/transcripts")) {
      return "transcript";
    }
    if (path.contains("/rankings")) {
      return "ranking";
    }
    if (path.contains("/demonstrations")) {
      return "demonstration";
    }
    return "other";
  }
}
