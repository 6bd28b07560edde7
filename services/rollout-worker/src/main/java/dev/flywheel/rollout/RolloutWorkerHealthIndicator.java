package dev.flywheel.rollout;

import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * {@code rollout-worker} health: UP while the loop polls (or the worker is disabled), DOWN while it
 * is between a failure and its restart. Details: requests answered, expired and dead-lettered.
 */
@Singleton
public class RolloutWorkerHealthIndicator implements HealthIndicator {

  private final RolloutWorkerService service;

  public RolloutWorkerHealthIndicator(RolloutWorkerService service) {
    this.service = service;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    RolloutWorkerMeters meters = service.meters();
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("enabled", service.enabled());
    details.put("running", meters.running());
    details.put("answered", meters.answeredCount());
    details.put("expired", meters.expiredCount());
    details.put("deadLettered", meters.deadLetteredCount());
    HealthStatus health =
        !service.enabled() || meters.running() ? HealthStatus.UP : HealthStatus.DOWN;
    return Publishers.just(HealthResult.builder("rollout-worker", health).details(details).build());
  }
}
