package dev.flywheel.pairs;

import io.micronaut.runtime.Micronaut;

/**
 * The pair assembler service: the Kafka Streams app of {@link PairAssemblerTopology} run by {@link
 * PairAssemblerStreams}, with {@code /health}, {@code /health/liveness}, {@code /health/readiness}
 * and {@code /prometheus} over HTTP like every Flywheel service.
 *
 * <p>Run with an explicit modest heap (RocksDB's off-heap budget comes on top): {@code java
 * -Xmx256m -jar flywheel-pair-assembler-*-all.jar}; settings in application.yml, system properties
 * or environment variables ({@code FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS}, {@code
 * FLYWHEEL_REGISTRY_URL}, {@code FLYWHEEL_PAIR_ASSEMBLER_*}, {@code MICRONAUT_SERVER_PORT}).
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) {
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
