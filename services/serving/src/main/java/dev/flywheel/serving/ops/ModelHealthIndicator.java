package dev.flywheel.serving.ops;

import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.versions.ModelManager;
import dev.flywheel.serving.versions.Routing;
import dev.flywheel.serving.versions.VersionWatcher;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * {@code /health} (and {@code /health/readiness}) component {@code models}: UP once a live version
 * is loaded and answering; DOWN before that (the service answers 503 then, so a load balancer
 * should not send it traffic). Details: live and canary version, loaded versions, whether the
 * versions topic has been read to its end. {@code /health/liveness} does not include it.
 */
@Singleton
@Readiness
public class ModelHealthIndicator implements HealthIndicator {

  private final ModelManager manager;
  private final VersionWatcher watcher;

  public ModelHealthIndicator(ModelManager manager, VersionWatcher watcher) {
    this.manager = manager;
    this.watcher = watcher;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    Routing routing = manager.routing();
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("modelLoaded", routing.live() != null);
    details.put("liveVersion", routing.live() == null ? "none" : routing.live().name());
    details.put("canaryVersion", routing.canary() == null ? "none" : routing.canary().name());
    List<String> loaded =
        routing.served().values().stream().map(ServedModel::name).sorted().toList();
    details.put("loadedVersions", loaded);
    details.put("versionsCaughtUp", watcher.caughtUp());
    HealthStatus status = routing.live() != null ? HealthStatus.UP : HealthStatus.DOWN;
    return Mono.just(HealthResult.builder("models", status).details(details).build());
  }
}
