package dev.flywheel.pairs;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;

/**
 * Process-local Micrometer counters (scraped over HTTP). They count work done by this process,
 * including work of transactions later aborted and redone, so after a crash they can run ahead of
 * the exact, exactly-once figures published to {@code training.metrics}.
 */
public final class PairAssemblerMetrics {

  private final MeterRegistry registry;
  private final Counter groups;
  private final Counter pairs;
  private final Counter orphans;
  private final Counter duplicates;

  public PairAssemblerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.groups =
        Counter.builder("pair_assembler_groups_emitted")
            .description("Comparison groups emitted")
            .register(registry);
    this.pairs =
        Counter.builder("pair_assembler_pairs_emitted")
            .description("Comparison pairs emitted")
            .register(registry);
    this.orphans =
        Counter.builder("pair_assembler_orphan_rankings")
            .description("Rankings dead-lettered because their transcript never came")
            .register(registry);
    this.duplicates =
        Counter.builder("pair_assembler_duplicate_rankings")
            .description("Rankings dropped as already processed")
            .register(registry);
  }

  /** Counters that go nowhere. */
  public static PairAssemblerMetrics noop() {
    return new PairAssemblerMetrics(new CompositeMeterRegistry());
  }

  void group(int pairCount) {
    groups.increment();
    pairs.increment(pairCount);
  }

  void orphan() {
    orphans.increment();
  }

  void duplicate() {
    duplicates.increment();
  }

  void deadLetter(String errorType) {
    Counter.builder("pair_assembler_dead_letters")
        .description("Records sent to the dead-letter topic")
        .tag("error_type", errorType)
        .register(registry)
        .increment();
  }
}
