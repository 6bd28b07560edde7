package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DataSplit;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.schemas.support.FileTrees;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A cold start whose accepted version's artifact is truncated, then one whose artifact is gone: the
 * trainer neither crash-loops nor stalls. Each time the next round starts from the initial model,
 * is gated like a first version, names the unusable parent in its metrics and counts it.
 */
@ExtendWith(FlywheelInfraExtension.class)
class UnusableParentTest {

  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  @Test
  void aTruncatedOrMissingParentArtifactIsReplacedNotCrashLoopedOn(FlywheelInfra infra)
      throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    SyntheticPreferences prefs = new SyntheticPreferences(5, 0.1);
    h.produce(h.comparisons, prefs.groups(100, DataSplit.EVAL, T0));
    h.produce(h.comparisons, prefs.groups(400, DataSplit.TRAIN, T0.plusSeconds(1)));
    RewardTrainerConfig config = h.config(Map.of());
    RewardModelVersion v1;
    try (RunningTrainer trainer = new RunningTrainer(config, h.kafka())) {
      v1 = last(h.awaitVersions(v -> v.size() >= 2, Duration.ofMinutes(3), trainer::describe));
    }
    assertEquals(ModelStatus.LIVE, v1.getStatus());

    // 1. truncated parameters: the SHA-256 check fails on load
    Path v1Dir = Path.of(URI.create(v1.getArtifactUri()));
    try (FileChannel c =
        FileChannel.open(v1Dir.resolve(ModelArtifacts.PARAMETERS), StandardOpenOption.WRITE)) {
      c.truncate(c.size() / 2);
    }
    h.produce(h.comparisons, prefs.groups(400, DataSplit.TRAIN, T0.plusSeconds(2)));
    try (RunningTrainer trainer = new RunningTrainer(config, h.kafka())) {
      RewardModelVersion v2 =
          last(h.awaitVersions(v -> v.size() >= 4, Duration.ofMinutes(3), trainer::describe));
      assertEquals(2, v2.getVersion());
      assertEquals(
          ModelStatus.LIVE, v2.getStatus(), "gated like a first version: " + v2.getMetrics());
      assertNull(v2.getParentVersion(), "not warm-started from the corrupt v1");
      assertEquals(1.0, v2.getMetrics().get("unusable_parent_version"));
      assertEquals(1, trainer.trainer.stats().unusableParents());
    }

    // 2. the accepted version's artifact is gone altogether
    List<RewardModelVersion> all = h.versions();
    Path v2Dir = Path.of(URI.create(last(all).getArtifactUri()));
    FileTrees.deleteRecursively(v2Dir);
    h.produce(h.comparisons, prefs.groups(400, DataSplit.TRAIN, T0.plusSeconds(3)));
    try (RunningTrainer trainer = new RunningTrainer(config, h.kafka())) {
      RewardModelVersion v3 =
          last(h.awaitVersions(v -> v.size() >= 6, Duration.ofMinutes(3), trainer::describe));
      assertEquals(3, v3.getVersion());
      assertEquals(2.0, v3.getMetrics().get("unusable_parent_version"));
      assertTrue(
          v3.getMetrics().get("eval_accuracy") > 0.7,
          "learned again from the initial model: " + v3.getMetrics());
    }
  }

  private static RewardModelVersion last(List<RewardModelVersion> versions) {
    return versions.get(versions.size() - 1);
  }
}
