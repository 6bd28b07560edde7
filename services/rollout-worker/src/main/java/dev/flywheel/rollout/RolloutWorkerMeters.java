package dev.flywheel.rollout;

import dev.flywheel.events.RolloutBatch;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The worker's Prometheus figures: requests by outcome ({@code answered}, {@code expired}, {@code
 * dead_lettered}), samples and generated tokens (their rate is the rollout tokens/s), time per
 * phase (load, generation, scoring), and whether the loop runs.
 */
final class RolloutWorkerMeters {

  private final MeterRegistry registry;
  private final Counter answered;
  private final Counter expired;
  private final Counter samples;
  private final Counter tokens;
  private final Timer load;
  private final Timer generation;
  private final Timer scoring;
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicInteger busy = new AtomicInteger();
  private final AtomicLong answeredCount = new AtomicLong();
  private final AtomicLong expiredCount = new AtomicLong();
  private final AtomicLong deadLetteredCount = new AtomicLong();

  RolloutWorkerMeters(MeterRegistry registry) {
    this.registry = registry;
    answered = requests("answered");
    expired = requests("expired");
    samples =
        Counter.builder("flywheel_rollout_worker_samples")
            .description("Samples generated and scored")
            .register(registry);
    tokens =
        Counter.builder("flywheel_rollout_worker_generated_tokens")
            .description("Response tokens generated (rate: rollout tokens/s)")
            .register(registry);
    load = phase("load");
    generation = phase("generation");
    scoring = phase("scoring");
    registry.gauge("flywheel_rollout_worker_running", running);
    registry.gauge("flywheel_rollout_worker_busy", busy);
  }

  private Counter requests(String outcome) {
    return requests(outcome, "none");
  }

  private Counter requests(String outcome, String errorType) {
    return Counter.builder("flywheel_rollout_worker_requests")
        .description("Rollout requests handled, by outcome (and error type of the dead-lettered)")
        .tag("outcome", outcome)
        .tag("error_type", errorType)
        .register(registry);
  }

  private Timer phase(String phase) {
    return Timer.builder("flywheel_rollout_worker_phase")
        .description("Time per request in each phase")
        .tag("phase", phase)
        .register(registry);
  }

  void answered(RolloutBatch batch) {
    answered.increment();
    answeredCount.incrementAndGet();
    samples.increment(batch.getSamples().size());
    tokens.increment(batch.getGeneratedTokens());
    load.record(Duration.ofMillis(batch.getLoadMillis()));
    generation.record(Duration.ofMillis(batch.getGenerationMillis()));
    scoring.record(Duration.ofMillis(batch.getScoringMillis()));
  }

  void expired() {
    expired.increment();
    expiredCount.incrementAndGet();
  }

  void deadLettered(String errorType) {
    requests("dead_lettered", errorType).increment();
    deadLetteredCount.incrementAndGet();
  }

  void running(boolean on) {
    running.set(on ? 1 : 0);
  }

  /** Whether a request is being answered (polled, its batch not yet acknowledged). */
  void busy(boolean on) {
    busy.set(on ? 1 : 0);
  }

  boolean running() {
    return running.get() == 1;
  }

  long answeredCount() {
    return answeredCount.get();
  }

  long expiredCount() {
    return expiredCount.get();
  }

  long deadLetteredCount() {
    return deadLetteredCount.get();
  }
}
