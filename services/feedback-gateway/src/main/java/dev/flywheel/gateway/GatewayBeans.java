package dev.flywheel.gateway;

import dev.flywheel.gateway.api.EventMapper;
import dev.flywheel.gateway.api.Responses.Published;
import dev.flywheel.gateway.publish.IdempotencyCache;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;

@Factory
class GatewayBeans {

  @Singleton
  IdempotencyCache<Published> idempotencyCache(GatewayConfig config) {
    return new IdempotencyCache<>(
        config.getIdempotencyWindow().toMillis(),
        config.getIdempotencyMaxEntries(),
        System::currentTimeMillis);
  }

  @Singleton
  EventMapper eventMapper(GatewayConfig config) {
    return new EventMapper(config.limits());
  }
}
