package dev.flywheel.rollout;

import ai.djl.ndarray.NDManager;
import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.model.Devices;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.TrainerSupervisor;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link RolloutWorker} loop for the lifetime of the application (unless {@code
 * flywheel.rollout-worker.enabled} is false) under trainer-kit's {@link TrainerSupervisor}, the
 * failure policy the trainers use: a failed loop is replaced after a back-off of 1 s doubling to 60
 * s (its uncommitted request is answered again). Loaded models are kept across restarts of the
 * loop.
 */
@Context
public class RolloutWorkerService {

  private static final Logger LOG = LoggerFactory.getLogger(RolloutWorkerService.class);

  private final TrainerSupervisor supervisor;
  private final RolloutWorkerMeters meters;
  private final NDManager manager;
  private final ModelCache models;

  public RolloutWorkerService(
      RolloutWorkerConfig config,
      KafkaProperties kafka,
      RegistryProperties registry,
      MeterRegistry meterRegistry) {
    meters = new RolloutWorkerMeters(meterRegistry);
    if (!config.isEnabled()) {
      LOG.info("flywheel.rollout-worker.enabled=false: answering nothing");
      supervisor = null;
      manager = null;
      models = null;
      return;
    }
    KafkaSettings settings =
        new KafkaSettings(kafka.getBootstrapServers(), registry.getUrl(), kafka.getProperties());
    LocalArtifactStore store;
    try {
      store = new LocalArtifactStore(Path.of(config.getArtifactRoot()));
    } catch (IOException e) {
      throw new UncheckedIOException("artifact-root " + config.getArtifactRoot(), e);
    }
    manager = Devices.newManager(config.getDevice());
    models = new ModelCache(store, manager, config.getCachedModels());
    RolloutAnswerer answerer = new RolloutAnswerer(models, config.getWorkerId());
    LOG.info(
        "rollout worker {} on {}: group {} on {}, batches to {}, artifacts under {}",
        config.getWorkerId(),
        manager.getDevice(),
        config.getGroupId(),
        config.getRequestsTopic(),
        config.getBatchesTopic(),
        store.root());
    supervisor =
        TrainerSupervisor.withDefaults(
                "rollout-worker-loop",
                () -> {
                  RolloutWorker worker = new RolloutWorker(settings, config, answerer, meters);
                  return new TrainerSupervisor.Attempt() {
                    @Override
                    public TrainerSupervisor.Ending run() {
                      worker.run();
                      return TrainerSupervisor.Ending.STOPPED;
                    }

                    @Override
                    public void stop() {
                      worker.stop();
                    }
                  };
                })
            .start();
  }

  RolloutWorkerMeters meters() {
    return meters;
  }

  boolean enabled() {
    return supervisor != null;
  }

  @PreDestroy
  void stop() throws InterruptedException {
    if (supervisor != null && !supervisor.stop(Duration.ofSeconds(60))) {
      LOG.warn("rollout worker loop did not stop within 60 s");
    }
    if (models != null) {
      models.close();
      manager.close();
    }
  }
}
