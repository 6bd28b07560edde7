package dev.flywheel.policy.service;

import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * {@code trainer} health: DOWN when the training loop failed (its last error in the details) or
 * stopped; UP otherwise (also while it catches up or waits for input). Details: phase, round (the
 * version being trained), step, last published version, counters and the latest figures.
 */
@Singleton
public class TrainerHealthIndicator implements HealthIndicator {

  private final PolicyTrainerStatus status;

  public TrainerHealthIndicator(PolicyTrainerStatus status) {
    this.status = status;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("phase", status.phase().name());
    details.put("round", status.round());
    details.put("step", status.step());
    details.put("lastPublishedVersion", status.lastPublishedVersion());
    details.put("versionsPublished", status.versionsPublished());
    details.put("versionsRejected", status.versionsRejected());
    details.put("resumes", status.resumes());
    details.put("figures", status.figures());
    if (status.lastError() != null) {
      details.put("lastError", status.lastError());
    }
    PolicyTrainerStatus.Phase phase = status.phase();
    HealthStatus health =
        phase == PolicyTrainerStatus.Phase.FAILED || phase == PolicyTrainerStatus.Phase.STOPPED
            ? HealthStatus.DOWN
            : HealthStatus.UP;
    return Publishers.just(HealthResult.builder("trainer", health).details(details).build());
  }
}
