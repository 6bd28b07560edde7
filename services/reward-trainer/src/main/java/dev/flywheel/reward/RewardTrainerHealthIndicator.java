package dev.flywheel.reward;

import io.micronaut.context.annotation.Requires;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * DOWN while the trainer starts (rebuilding its buffer) and once it has failed or stopped; UP
 * otherwise.
 */
@Singleton
@Requires(beans = RewardTrainerService.class)
public class RewardTrainerHealthIndicator implements HealthIndicator {

  private final RewardTrainerService service;

  public RewardTrainerHealthIndicator(RewardTrainerService service) {
    this.service = service;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    RewardTrainerStats s = service.stats();
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("state", s.state().name());
    details.put("rounds", s.rounds());
    details.put("liveVersion", s.liveVersion());
    details.put("lastVersion", s.lastVersion());
    details.put("groupsPending", s.groupsPending());
    details.put("groupsBuffered", s.groupsBuffered());
    details.put("evalGroups", s.evalGroups());
    details.put("restarts", s.restarts());
    details.put("fenced", s.fenced());
    if (s.lastError() != null) {
      details.put("lastError", s.lastError());
    }
    HealthStatus status =
        switch (s.state()) {
          case WAITING, TRAINING, PUBLISHING -> HealthStatus.UP;
          default -> HealthStatus.DOWN;
        };
    return Publishers.just(HealthResult.builder("reward-trainer", status).details(details).build());
  }
}
