package dev.flywheel.pairs;

import io.micronaut.context.annotation.Requires;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Liveness;
import jakarta.inject.Singleton;
import java.util.Map;
import org.apache.kafka.streams.KafkaStreams;
import org.reactivestreams.Publisher;

/**
 * {@code /health/liveness} (and {@code /health}) component {@code kafka-streams-alive}: DOWN only
 * once the Streams client has failed or is stopping (ERROR, PENDING_ERROR, PENDING_SHUTDOWN,
 * NOT_RUNNING), so that an orchestrator restarts the process; a client that is starting or
 * rebalancing is alive.
 */
@Singleton
@Liveness
@Requires(beans = PairAssemblerStreams.class)
public class StreamsLiveness implements HealthIndicator {

  private final PairAssemblerStreams streams;

  public StreamsLiveness(PairAssemblerStreams streams) {
    this.streams = streams;
  }

  static boolean alive(KafkaStreams.State state) {
    return state != KafkaStreams.State.ERROR
        && state != KafkaStreams.State.PENDING_ERROR
        && state != KafkaStreams.State.NOT_RUNNING
        && state != KafkaStreams.State.PENDING_SHUTDOWN;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    KafkaStreams.State state = streams.state();
    return Publishers.just(
        HealthResult.builder(
                "kafka-streams-alive", alive(state) ? HealthStatus.UP : HealthStatus.DOWN)
            .details(Map.of("state", state.name()))
            .build());
  }
}
