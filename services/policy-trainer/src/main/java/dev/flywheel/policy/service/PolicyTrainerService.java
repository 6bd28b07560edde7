package dev.flywheel.policy.service;

import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.TrainerSupervisor;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link PolicyTrainerLoop} for the lifetime of the application (eagerly created with the
 * context), unless {@code flywheel.policy-trainer.enabled} is false, under trainer-kit's {@link
 * TrainerSupervisor}, the trainers' one failure policy: a failed loop is replaced by a fresh one
 * (catch-up, then the checkpointed round resumes) after a back-off of 1 s doubling to 60 s; a
 * fenced one stays FAILED (health DOWN). On shutdown the loop checkpoints the round in progress and
 * stops. Invalid settings ({@code sft.*}, {@code ppo.*}, {@code dpo.*}, {@code rollout.*}) fail
 * start-up with the key named, before anything is started.
 */
@Context
public class PolicyTrainerService {

  private static final Logger LOG = LoggerFactory.getLogger(PolicyTrainerService.class);

  private final TrainerSupervisor supervisor;

  public PolicyTrainerService(
      PolicyTrainerConfig config,
      SftConfig sft,
      PpoConfig ppo,
      DpoConfig dpo,
      RolloutConfig rollouts,
      KafkaProperties kafka,
      RegistryProperties registry,
      PolicyTrainerStatus status) {
    sft.copy().validate();
    ppo.copy().validate();
    dpo.copy().validate();
    PolicyTrainerLoop.validRollouts(rollouts, ppo);
    if (!config.isEnabled()) {
      LOG.info("flywheel.policy-trainer.enabled=false: not training");
      status.phase(PolicyTrainerStatus.Phase.DISABLED);
      supervisor = null;
      return;
    }
    KafkaSettings settings =
        new KafkaSettings(kafka.getBootstrapServers(), registry.getUrl(), kafka.getProperties());
    AtomicInteger attempts = new AtomicInteger();
    supervisor =
        TrainerSupervisor.withDefaults(
                "policy-trainer-loop",
                () -> {
                  if (attempts.getAndIncrement() > 0) {
                    status.restarted();
                  }
                  PolicyTrainerLoop loop =
                      new PolicyTrainerLoop(
                          config, sft, ppo, dpo, rollouts, settings, status, null);
                  return new TrainerSupervisor.Attempt() {
                    @Override
                    public TrainerSupervisor.Ending run() {
                      loop.run();
                      if (status.phase() != PolicyTrainerStatus.Phase.FAILED) {
                        return TrainerSupervisor.Ending.STOPPED;
                      }
                      return status.fenced()
                          ? TrainerSupervisor.Ending.FENCED
                          : TrainerSupervisor.Ending.FAILED;
                    }

                    @Override
                    public void stop() {
                      loop.requestStop();
                    }
                  };
                })
            .start();
  }

  @PreDestroy
  void stop() throws InterruptedException {
    if (supervisor != null && !supervisor.stop(Duration.ofSeconds(120))) {
      LOG.warn("training loop did not stop within 120 s");
    }
  }
}
