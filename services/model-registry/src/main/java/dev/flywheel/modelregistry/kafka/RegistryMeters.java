package dev.flywheel.modelregistry.kafka;

import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.modelregistry.state.MetricsStore;
import dev.flywheel.modelregistry.state.ModelState;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;

/** Prometheus gauges: versions per kind and status, materializer progress and skipped records. */
@Context
@Requires(beans = MeterRegistry.class)
public class RegistryMeters {

  public RegistryMeters(
      MeterRegistry registry, ModelState state, MetricsStore metrics, Materializer materializer) {
    for (ModelKind kind : ModelKind.values()) {
      for (ModelStatus status : ModelStatus.values()) {
        Gauge.builder(
                "flywheel_registry_versions",
                () -> state.versions(kind).stream().filter(e -> e.status() == status).count())
            .description("Model versions known to the registry")
            .tag("kind", kind.name().toLowerCase())
            .tag("status", status.name())
            .register(registry);
      }
    }
    Gauge.builder("flywheel_registry_caught_up", () -> materializer.caughtUp() ? 1 : 0)
        .description(
            "1 once the materializer has replayed its topics up to their start-time end offsets")
        .register(registry);
    Gauge.builder("flywheel_registry_replay_remaining", materializer::replayRemaining)
        .description("Records left to replay before the registry is caught up")
        .register(registry);
    Gauge.builder("flywheel_registry_records_applied", materializer::appliedCount)
        .description("Records applied since start")
        .register(registry);
    Gauge.builder("flywheel_registry_records_skipped", materializer::skippedCount)
        .description("Records that could not be decoded or applied since start")
        .register(registry);
    Gauge.builder("flywheel_registry_metric_points", metrics::total)
        .description("training.metrics records applied since start")
        .register(registry);
  }
}
