package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flywheel.events.DataSplit;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Crash safety with a real kill: the trainer runs as a separate JVM ({@code
 * dev.flywheel.reward.Application}, the production main, from the test class path) and is killed
 * with {@link Process#destroyForcibly()} (SIGKILL: no shutdown hook, no cleanup, no Kafka client
 * close) in the middle of round 1 and again in the middle of round 2, each time after a mid-round
 * checkpoint was written. A fresh JVM is started after each kill. Then:
 *
 * <ul>
 *   <li>version numbers are 1, 2, 3: monotonic, none skipped, each published exactly once (all
 *       records of a number carry the same artifact and creation time; statuses are CANDIDATE→LIVE
 *       or REJECTED);
 *   <li>the lineage ranges of consecutive versions are contiguous per partition (v1 starts at 0,
 *       each version starts where the previous ended, the last ends at the partition's end): no
 *       gap, no overlap, every input record is in exactly one version;
 *   <li>the killed rounds resumed from their checkpoints ({@code resumed_from_step} &gt; 0).
 * </ul>
 */
@ExtendWith(FlywheelInfraExtension.class)
class CrashRecoveryTest {

  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
  private static final int GROUPS_PER_ROUND = 600;

  @Test
  void killedMidRoundItResumesAndPublishesMonotonicContiguousVersions(FlywheelInfra infra)
      throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    SyntheticPreferences prefs = new SyntheticPreferences(5, 0.1);
    Path logs = infra.newTempDirectory("reward-trainer-crash-logs");
    h.produce(h.comparisons, prefs.groups(60, DataSplit.EVAL, T0));
    h.produce(h.comparisons, prefs.groups(GROUPS_PER_ROUND, DataSplit.TRAIN, T0.plusSeconds(1)));

    List<Process> started = new ArrayList<>();
    try {
      // round 1: killed after its checkpoint at step 25, then finished by a new JVM
      Process first = start(h, logs.resolve("trainer-1.log"), started);
      awaitStep(h, 1, 30, first, logs.resolve("trainer-1.log"));
      kill(first);
      assertTrue(h.versions().isEmpty(), "killed mid-round: nothing published");
      Process second = start(h, logs.resolve("trainer-2.log"), started);
      h.awaitVersions(
          v -> v.stream().anyMatch(x -> x.getVersion() == 1),
          Duration.ofMinutes(3),
          () -> tail(logs.resolve("trainer-2.log")));

      // round 2: the same JVM picks it up; killed mid-round too
      h.produce(h.comparisons, prefs.groups(GROUPS_PER_ROUND, DataSplit.TRAIN, T0.plusSeconds(2)));
      awaitStep(h, 2, 30, second, logs.resolve("trainer-2.log"));
      kill(second);
      Process third = start(h, logs.resolve("trainer-3.log"), started);
      h.awaitVersions(
          v -> v.stream().anyMatch(x -> x.getVersion() == 2),
          Duration.ofMinutes(3),
          () -> tail(logs.resolve("trainer-3.log")));

      // round 3: no crash
      h.produce(h.comparisons, prefs.groups(GROUPS_PER_ROUND, DataSplit.TRAIN, T0.plusSeconds(3)));
      h.awaitVersions(
          v -> v.stream().anyMatch(x -> x.getVersion() == 3),
          Duration.ofMinutes(3),
          () -> tail(logs.resolve("trainer-3.log")));
      kill(third);
    } finally {
      started.forEach(Process::destroyForcibly);
    }

    List<RewardModelVersion> records = h.versions();
    Map<Long, List<RewardModelVersion>> byVersion =
        records.stream()
            .collect(
                Collectors.groupingBy(
                    RewardModelVersion::getVersion, TreeMap::new, Collectors.toList()));
    assertEquals(List.of(1L, 2L, 3L), List.copyOf(byVersion.keySet()));
    long previous = 0;
    for (RewardModelVersion r : records) {
      assertTrue(r.getVersion() >= previous, "versions appear in increasing order");
      previous = r.getVersion();
    }
    List<RewardModelVersion> finals = new ArrayList<>();
    for (List<RewardModelVersion> events : byVersion.values()) {
      List<ModelStatus> statuses = events.stream().map(RewardModelVersion::getStatus).toList();
      assertTrue(
          statuses.equals(List.of(ModelStatus.CANDIDATE, ModelStatus.LIVE))
              || statuses.equals(List.of(ModelStatus.REJECTED)),
          "one publication per number: " + statuses);
      assertEquals(
          1,
          events.stream()
              .map(e -> e.getArtifactSha256() + "@" + e.getCreatedAt())
              .distinct()
              .count(),
          "all records of version " + events.get(0).getVersion() + " describe the same model");
      finals.add(events.get(events.size() - 1));
    }
    finals.forEach(
        v ->
            System.out.printf(
                "crash test: v%d %s resumed_from_step %.0f of %.0f, eval accuracy %.4f, lineage %s%n",
                v.getVersion(),
                v.getStatus(),
                v.getMetrics().get("resumed_from_step"),
                v.getMetrics().get("steps"),
                v.getMetrics().get("eval_accuracy"),
                v.getTrainingData().stream()
                    .map(
                        r ->
                            r.getPartition()
                                + ":["
                                + r.getFromOffset()
                                + ","
                                + r.getUntilOffset()
                                + ")")
                    .toList()));
    assertTrue(
        finals.get(0).getMetrics().get("resumed_from_step") > 0,
        "round 1 resumed from its checkpoint");
    assertTrue(
        finals.get(1).getMetrics().get("resumed_from_step") > 0,
        "round 2 resumed from its checkpoint");
    assertEquals(0.0, finals.get(2).getMetrics().get("resumed_from_step"));

    // lineage: contiguous per partition, covering the whole input exactly once
    Map<TopicPartition, Long> end =
        infra
            .admin()
            .listOffsets(
                java.util.stream.IntStream.range(0, 6)
                    .boxed()
                    .collect(
                        Collectors.toMap(
                            p -> new TopicPartition(h.comparisons, p),
                            p -> org.apache.kafka.clients.admin.OffsetSpec.latest())))
            .all()
            .get()
            .entrySet()
            .stream()
            .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    for (int p = 0; p < 6; p++) {
      long next = 0;
      for (RewardModelVersion v : finals) {
        List<OffsetRange> ranges = new ArrayList<>();
        for (OffsetRange r : v.getTrainingData()) {
          if (r.getPartition() == p) {
            ranges.add(r);
          }
        }
        assertTrue(ranges.size() <= 1, "one contiguous range per partition: " + ranges);
        if (!ranges.isEmpty()) {
          assertEquals(
              next,
              ranges.get(0).getFromOffset(),
              "v"
                  + v.getVersion()
                  + " partition "
                  + p
                  + " starts where the previous version ended (no gap, no overlap)");
          next = ranges.get(0).getUntilOffset();
        }
      }
      assertEquals(
          end.get(new TopicPartition(h.comparisons, p)), next, "partition " + p + " fully covered");
    }
    double groups = finals.stream().mapToDouble(v -> v.getMetrics().get("input_records")).sum();
    assertEquals(60 + 3 * GROUPS_PER_ROUND, groups, "every input record is in exactly one version");
  }

  private static Process start(TrainerHarness h, Path log, List<Process> started)
      throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                System.getProperty(
                    "reward.test.java",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()),
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1",
                "-Dmicronaut.server.port=-1"));
    Map<String, Object> props = h.properties();
    props.put("flywheel.reward-trainer.round-min-groups", Integer.toString(GROUPS_PER_ROUND));
    props.put("flywheel.reward-trainer.batch-size-groups", "8");
    props.put("flywheel.reward-trainer.epochs", "2");
    props.put("flywheel.reward-trainer.checkpoint-every-steps", "25");
    props.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.addAll(
        List.of("-cp", System.getProperty("java.class.path"), "dev.flywheel.reward.Application"));
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process process = builder.start();
    started.add(process);
    return process;
  }

  /**
   * Waits until the trainer reported optimizer step {@code step} of {@code round} on
   * training.metrics.
   */
  private static void awaitStep(TrainerHarness h, long round, long step, Process process, Path log)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail("trainer exited with " + process.exitValue() + ":\n" + tail(log));
      }
      for (TrainingMetrics m : h.metrics()) {
        if (m.getPhase().equals("reward") && m.getRound() == round && m.getStep() >= step) {
          assertFalse(
              h.versions().stream().anyMatch(v -> v.getVersion() == round),
              "round " + round + " finished before the kill: make the round longer");
          return;
        }
      }
      Thread.sleep(100);
    }
    fail("round " + round + " never reached step " + step + ":\n" + tail(log));
  }

  private static void kill(Process process) throws InterruptedException {
    process.destroyForcibly();
    assertTrue(process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
