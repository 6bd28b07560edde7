package dev.flywheel.reward;

import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.TrainerSupervisor;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import jakarta.annotation.PreDestroy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link RewardTrainer} from start-up to shutdown under trainer-kit's {@link
 * TrainerSupervisor}, the trainers' one failure policy: a failed attempt (broker or registry
 * unreachable, a publish that could not commit) starts again from Kafka's state after a back-off (1
 * s doubling to 60 s); a fenced one stays FAILED (health DOWN). Disable training with {@code
 * flywheel.reward-trainer.enabled=false}.
 */
@Context
@Requires(property = "flywheel.reward-trainer.enabled", notEquals = "false")
public class RewardTrainerService {

  private static final Logger LOG = LoggerFactory.getLogger(RewardTrainerService.class);

  private final RewardTrainerStats stats = new RewardTrainerStats();
  private final TrainerSupervisor supervisor;

  public RewardTrainerService(
      RewardTrainerConfig config, KafkaProperties kafka, RegistryProperties registry) {
    config.validate();
    KafkaSettings settings =
        new KafkaSettings(kafka.getBootstrapServers(), registry.getUrl(), kafka.getProperties());
    LOG.info("Reward trainer configuration: {}", config.asMap());
    AtomicInteger attempts = new AtomicInteger();
    this.supervisor =
        TrainerSupervisor.withDefaults(
                "reward-trainer",
                () -> {
                  if (attempts.getAndIncrement() > 0) {
                    stats.restarts.incrementAndGet();
                  }
                  RewardTrainer trainer = new RewardTrainer(config, settings, stats);
                  return new TrainerSupervisor.Attempt() {
                    @Override
                    public TrainerSupervisor.Ending run() {
                      trainer.run();
                      if (stats.state() != RewardTrainerStats.State.FAILED) {
                        return TrainerSupervisor.Ending.STOPPED;
                      }
                      return stats.fenced()
                          ? TrainerSupervisor.Ending.FENCED
                          : TrainerSupervisor.Ending.FAILED;
                    }

                    @Override
                    public void stop() {
                      trainer.stop();
                    }
                  };
                })
            .start();
  }

  public RewardTrainerStats stats() {
    return stats;
  }

  @PreDestroy
  void stop() throws InterruptedException {
    supervisor.stop(Duration.ofSeconds(30));
  }
}
