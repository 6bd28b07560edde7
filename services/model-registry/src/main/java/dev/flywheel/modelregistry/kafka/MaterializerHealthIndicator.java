package dev.flywheel.modelregistry.kafka;

import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * Ready once the materializer has read the version, control and metrics topics up to the end
 * offsets they had when it started; until then the API would answer with a partial view.
 */
@Singleton
@Readiness
public class MaterializerHealthIndicator implements HealthIndicator {

  private final Materializer materializer;

  public MaterializerHealthIndicator(Materializer materializer) {
    this.materializer = materializer;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("phase", materializer.phase().name());
    details.put("recordsApplied", materializer.appliedCount());
    details.put("recordsSkipped", materializer.skippedCount());
    details.put("replayRemaining", materializer.replayRemaining());
    if (materializer.lastError() != null) {
      details.put("lastError", materializer.lastError());
    }
    HealthStatus status = materializer.caughtUp() ? HealthStatus.UP : HealthStatus.DOWN;
    return Publishers.just(HealthResult.builder("materializer", status).details(details).build());
  }
}
