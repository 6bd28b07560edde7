package dev.flywheel.reward;

import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.trainerkit.KafkaSettings;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link RewardTrainer} on its own thread from start-up to shutdown. When the loop fails (broker or
 * registry unreachable, a publish that could not commit) it is started again from Kafka's state after a
 * back-off (1 s doubling to 60 s), unless it was fenced by another instance with the same transactional id:
 * then it stays FAILED (health DOWN) so that the two do not fence each other in turn. Disable training
 * with {@code flywheel.reward-trainer.enabled=false}.
 */
@Context
@Requires(property = "flywheel.reward-trainer.enabled", notEquals = "false")
public class RewardTrainerService {

  private static final Logger LOG = LoggerFactory.getLogger(RewardTrainerService.class);
  private static final long MAX_BACKOFF_MS = 60_000;

  private final RewardTrainerConfig config;
  private final KafkaSettings kafka;
  private final TrainerStats stats = new TrainerStats();
  private final Thread thread;
  private volatile boolean stopping;
  private volatile RewardTrainer current;

  public RewardTrainerService(RewardTrainerConfig config, KafkaProperties kafka, RegistryProperties registry) {
    config.validate();
    this.config = config;
    this.kafka = new KafkaSettings(kafka.getBootstrapServers(), registry.getUrl(), kafka.getProperties());
    LOG.info("Reward trainer configuration: {}", config.asMap());
    this.thread = new Thread(this::supervise, "reward-trainer");
    thread.start();
  }

  private void supervise() {
    long backoff = 1000;
    while (!stopping) {
      current = new RewardTrainer(config, kafka, stats);
      long started = System.nanoTime();
      current.run();
      if (stopping || stats.state() != TrainerStats.State.FAILED || stats.fenced()) {
        return;
      }
      if (System.nanoTime() - started > 10 * MAX_BACKOFF_MS * 1_000_000L) {
        backoff = 1000; // it ran for a while: start the back-off over
      }
      LOG.warn("restarting the reward trainer in {} ms", backoff);
      synchronized (this) {
        try {
          if (!stopping) {
            wait(backoff);
          }
        } catch (InterruptedException e) {
          return;
        }
      }
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      stats.restarts.incrementAndGet();
    }
  }

  public TrainerStats stats() {
    return stats;
  }

  @PreDestroy
  void stop() throws InterruptedException {
    stopping = true;
    RewardTrainer t = current;
    if (t != null) {
      t.stop();
    }
    synchronized (this) {
      notifyAll(); // wakes the back-off wait; the trainer itself is never interrupted (Kafka clients)
    }
    thread.join(30_000);
  }
}
