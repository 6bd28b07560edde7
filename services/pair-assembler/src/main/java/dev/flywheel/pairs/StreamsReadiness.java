package dev.flywheel.pairs;

import io.micronaut.context.annotation.Requires;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import java.util.Map;
import org.apache.kafka.streams.KafkaStreams;
import org.reactivestreams.Publisher;

/**
 * {@code /health} and {@code /health/readiness} component {@code kafka-streams}: UP while the
 * Streams client is RUNNING or REBALANCING, DOWN while it starts (restoring state, waiting for its
 * tasks) and once it has failed or stopped.
 */
@Singleton
@Readiness
@Requires(beans = PairAssemblerStreams.class)
public class StreamsReadiness implements HealthIndicator {

  private final PairAssemblerStreams streams;

  public StreamsReadiness(PairAssemblerStreams streams) {
    this.streams = streams;
  }

  static boolean ready(KafkaStreams.State state) {
    return state == KafkaStreams.State.RUNNING || state == KafkaStreams.State.REBALANCING;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    KafkaStreams.State state = streams.state();
    return Publishers.just(
        HealthResult.builder("kafka-streams", ready(state) ? HealthStatus.UP : HealthStatus.DOWN)
            .details(Map.of("state", state.name(), "applicationId", streams.applicationId()))
            .build());
  }
}
