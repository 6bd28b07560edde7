package dev.flywheel.policy.service;

import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.trainerkit.KafkaSettings;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link PolicyTrainerLoop} for the lifetime of the application (eagerly created with the
 * context), unless {@code flywheel.policy-trainer.enabled} is false. On shutdown the loop checkpoints the
 * round in progress and stops.
 */
@Context
public class PolicyTrainerService {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyTrainerService.class);

    private final PolicyTrainerLoop loop;

    public PolicyTrainerService(PolicyTrainerConfig config, SftConfig sft, PpoConfig ppo, KafkaProperties kafka,
            RegistryProperties registry, TrainerStatus status) {
        if (!config.isEnabled()) {
            LOG.info("flywheel.policy-trainer.enabled=false: not training");
            status.phase(TrainerStatus.Phase.DISABLED);
            loop = null;
            return;
        }
        KafkaSettings settings = new KafkaSettings(kafka.getBootstrapServers(), registry.getUrl(), kafka.getProperties());
        loop = new PolicyTrainerLoop(config, sft, ppo, settings, status, null);
        loop.start();
    }

    @PreDestroy
    void stop() throws InterruptedException {
        if (loop != null && !loop.stop(Duration.ofSeconds(120))) {
            LOG.warn("training loop did not stop within 120 s");
        }
    }
}
