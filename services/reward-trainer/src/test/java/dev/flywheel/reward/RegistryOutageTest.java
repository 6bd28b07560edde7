package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DataSplit;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.testing.RegistryProxy;
import dev.flywheel.trainerkit.KafkaSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The schema registry is down when the trainer reads its input: nothing is dead-lettered, nothing
 * is skipped. Once the registry is back the round trains on every group, and its lineage covers
 * every partition contiguously from offset 0.
 */
@ExtendWith(FlywheelInfraExtension.class)
class RegistryOutageTest {

  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  @Test
  void aRegistryOutageDelaysTheRoundButLosesNothing(FlywheelInfra infra) throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    SyntheticPreferences prefs = new SyntheticPreferences(3, 0.1);
    h.produce(h.comparisons, prefs.groups(100, DataSplit.EVAL, T0));
    h.produce(h.comparisons, prefs.groups(400, DataSplit.TRAIN, T0.plusSeconds(1)));
    try (RegistryProxy registry = new RegistryProxy(infra.registryUrl())) {
      registry.setAvailable(false);
      RewardTrainerConfig config = h.config(Map.of("flywheel.registry.url", registry.url()));
      try (RunningTrainer trainer =
          new RunningTrainer(config, new KafkaSettings(infra.bootstrapServers(), registry.url()))) {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (trainer.trainer.stats().registryOutages() < 3) {
          assertTrue(
              System.nanoTime() < deadline,
              "the trainer kept reading through the outage: " + trainer.describe());
          Thread.sleep(100);
        }
        assertEquals(0, trainer.trainer.stats().deadLetters(), "an outage is not bad input");
        assertEquals(
            0,
            trainer.trainer.stats().groupsPending(),
            "nothing ingested while the registry is down");
        assertTrue(registry.refused() > 0);

        registry.setAvailable(true);
        List<RewardModelVersion> all =
            h.awaitVersions(v -> v.size() >= 2, Duration.ofMinutes(3), trainer::describe);
        RewardModelVersion v1 = all.get(all.size() - 1);
        assertEquals(ModelStatus.LIVE, v1.getStatus());
        assertEquals(400.0, v1.getMetrics().get("new_groups"), v1.getMetrics().toString());
        assertEquals(500.0, v1.getMetrics().get("input_records"), v1.getMetrics().toString());
        for (OffsetRange r : v1.getTrainingData()) {
          assertEquals(0, r.getFromOffset(), "contiguous from the start: " + v1.getTrainingData());
        }
        long covered =
            v1.getTrainingData().stream()
                .mapToLong(r -> r.getUntilOffset() - r.getFromOffset())
                .sum();
        assertEquals(500, covered, "every record in the lineage: " + v1.getTrainingData());
        assertEquals(0, trainer.trainer.stats().deadLetters());
      }
    }
  }
}
