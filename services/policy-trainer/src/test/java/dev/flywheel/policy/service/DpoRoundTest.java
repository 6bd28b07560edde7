package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.policy.train.OfflineDpoTrainer;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * DPO rounds of the service ({@code ppo.algorithm=dpo}) on the real broker and registry:
 * demonstrations become the SFT base, ranked comparison groups on the comparisons topic become a
 * DPO version (stage PPO) trained on the TRAIN groups only and judged on the EVAL groups; nothing
 * is trained before {@code dpo.round-min-groups} train groups are in; a round killed mid-way
 * resumes from its checkpoint, and one published just before a crash is not published again.
 */
@ExtendWith(FlywheelInfraExtension.class)
class DpoRoundTest {

  private static final int MIN_GROUPS = 8;

  @Test
  void comparisonGroupsBecomeADpoVersionOnceRoundMinGroupsTrainGroupsAreIn(FlywheelInfra infra)
      throws Exception {
    Harness h = new Harness(infra);
    h.enableDpo(MIN_GROUPS);
    h.produceDemonstrations(40, 1);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    AtomicInteger idle = new AtomicInteger();
    List<PolicyVersion> published = Collections.synchronizedList(new ArrayList<>());
    PolicyTrainerLoop loop =
        h.loop(
            status,
            new PolicyTrainerLoop.Events() {
              @Override
              public void idle() {
                idle.incrementAndGet();
              }

              @Override
              public void published(PolicyVersion version) {
                published.add(version);
              }
            });
    loop.start();
    try {
      PolicyVersion sft =
          h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
      assertEquals(1, sft.getVersion());

      // 7 train groups of 3 candidates (3 pairs each), 3 held-out groups of 2 (1 pair each) and one
      // group that cannot be trained on: one train group short of a round
      List<int[]> train = Harness.promptsOfSplit(false, MIN_GROUPS);
      List<int[]> heldOut = Harness.promptsOfSplit(true, 3);
      List<ComparisonGroup> first = new ArrayList<>();
      for (int i = 0; i < MIN_GROUPS - 1; i++) {
        first.add(Harness.comparisonGroup("train-" + i, train.get(i), 3));
      }
      for (int i = 0; i < heldOut.size(); i++) {
        first.add(Harness.comparisonGroup("eval-" + i, heldOut.get(i), 2));
      }
      ComparisonGroup invalid = Harness.comparisonGroup("broken", train.get(0), 3);
      invalid.getPairs().get(0).setRejectedResponseId("nobody");
      first.add(invalid);
      h.produceComparisons(first);

      // the loop has read them (its gauges), and the scheduler has passed twice since: it waits
      await(
          () -> status.comparisonTrainGroups() == MIN_GROUPS - 1,
          status,
          "the train groups are read");
      assertEquals(heldOut.size(), status.comparisonEvalGroups());
      int seen = idle.get();
      await(() -> idle.get() >= seen + 2, status, "two passes of the scheduler");
      assertEquals(List.of(1L), published.stream().map(PolicyVersion::getVersion).toList());
      assertEquals(1, h.latestPolicyVersions().size(), "nothing before round-min-groups");

      List<DeadLetter> letters =
          h.readAll(h.config.getDeadLettersTopic(), DeadLetter.class).stream()
              .map(ConsumerRecord::value)
              .toList();
      assertEquals(1, letters.size(), letters.toString());
      assertEquals("INVALID_GROUP", letters.get(0).getErrorType());
      assertTrue(letters.get(0).getReason().contains("group broken"), letters.get(0).getReason());

      h.produceComparisons(
          List.of(Harness.comparisonGroup("train-last", train.get(MIN_GROUPS - 1), 3)));
      PolicyVersion dpo =
          h.awaitVersion(v -> v.getStage() == PolicyStage.PPO, Duration.ofSeconds(90), status);

      // ---- lineage ----
      assertEquals(2, dpo.getVersion());
      assertEquals(List.of(1L), dpo.getParentVersions(), "parent = the base, v1");
      assertNull(dpo.getRewardModelVersion(), "no reward model");
      Map<String, String> hp = dpo.getHyperparameters();
      assertEquals("dpo", hp.get("ppo.algorithm"));
      assertEquals("1", hp.get("reference_version"));
      assertEquals("1", hp.get("base_version"));
      assertEquals(String.valueOf(MIN_GROUPS), hp.get("dpo.round-min-groups"));
      assertEquals(String.valueOf(h.dpo.getLearningRate()), hp.get("dpo.learning-rate"));
      assertEquals("4", hp.get("dpo.groups-per-step"));
      assertEquals("0.1", hp.get("dpo.beta"));
      assertEquals("sigmoid", hp.get("dpo.loss"));
      assertEquals(String.valueOf(h.ppo.getMaxEvalKl()), hp.get("ppo.max-eval-kl"));
      assertFalse(hp.containsKey("ppo.rollout-batch-size"), "RL settings do not apply: " + hp);
      assertFalse(hp.get("round_id").isBlank());
      List<OffsetRange> data = dpo.getTrainingData();
      assertTrue(
          data.stream().allMatch(r -> r.getTopic().equals(h.config.getComparisonsTopic())),
          data.toString());
      assertEquals(
          first.size() + 1,
          data.stream().mapToLong(r -> r.getUntilOffset() - r.getFromOffset()).sum(),
          "every record of the comparisons topic: " + data);

      // ---- what it trained and evaluated on: the TRAIN groups only ----
      Map<String, Double> m = dpo.getMetrics();
      assertEquals(MIN_GROUPS, m.get("groups"), 0, m.toString());
      assertEquals(3.0 * MIN_GROUPS, m.get("pairs"), 0, "3 pairs per train group, none of 1: " + m);
      assertEquals(heldOut.size(), m.get("eval_groups"), 0, m.toString());
      assertEquals(heldOut.size(), m.get("eval_pairs"), 0, m.toString());
      int steps = new OfflineDpoTrainer(h.dpo).totalSteps(MIN_GROUPS);
      assertEquals(steps, m.get("steps"), 0);
      double accuracy = m.get("eval_preference_accuracy");
      double kl = m.get("eval_kl");
      assertTrue(accuracy >= 0 && accuracy <= 1 && Double.isFinite(kl), m.toString());
      assertEquals(0.5, m.get("eval_preference_accuracy_base"), 0);
      boolean passes = accuracy > 0.5 && kl <= h.ppo.getMaxEvalKl();
      assertEquals(passes ? ModelStatus.LIVE : ModelStatus.REJECTED, dpo.getStatus(), m.toString());
      if (passes) {
        List<ModelStatus> history =
            h.policyVersions().stream()
                .filter(v -> v.getVersion() == 2)
                .map(PolicyVersion::getStatus)
                .toList();
        assertEquals(List.of(ModelStatus.CANDIDATE, ModelStatus.LIVE), history);
      }
      try (NDManager nd = NDManager.newBaseManager();
          LoadedModel loaded =
              ModelArtifacts.load(
                  Path.of(URI.create(dpo.getArtifactUri())), dpo.getArtifactSha256(), nd)) {
        assertEquals("2", loaded.metadata().get("version"));
        assertEquals("PPO", loaded.metadata().get("stage"));
      }

      // ---- progress metrics ----
      List<TrainingMetrics> metrics = h.metrics();
      List<Long> dpoSteps =
          metrics.stream()
              .filter(
                  e -> e.getPhase().equals("dpo") && Long.valueOf(2).equals(e.getModelVersion()))
              .map(TrainingMetrics::getStep)
              .toList();
      assertEquals(LongStream.rangeClosed(1, steps).boxed().toList(), dpoSteps);
      assertTrue(
          metrics.stream()
              .anyMatch(
                  e ->
                      e.getPhase().equals("eval")
                          && Long.valueOf(2).equals(e.getModelVersion())
                          && e.getValues().containsKey("eval_preference_accuracy")));
      assertEquals(1, status.dpoRounds());
      assertEquals(steps, status.dpoSteps());
      assertTrue(Double.isFinite(status.figure("dpo_loss")));
    } finally {
      assertTrue(loop.stop(Duration.ofSeconds(60)));
    }
  }

  record Resume(String kind, long round, long step) {}

  @Test
  void aDpoRoundKilledMidRoundResumesAndIsPublishedOnce(FlywheelInfra infra) throws Exception {
    Harness h = new Harness(infra);
    h.enableDpo(MIN_GROUPS);
    h.dpo.setCheckpointEvery(1); // 4 steps: checkpoints at 1, 2, 3
    h.produceDemonstrations(40, 3);
    List<ComparisonGroup> groups = new ArrayList<>();
    List<int[]> train = Harness.promptsOfSplit(false, MIN_GROUPS);
    for (int i = 0; i < train.size(); i++) {
      groups.add(Harness.comparisonGroup("train-" + i, train.get(i), 3));
    }
    groups.add(Harness.comparisonGroup("eval-0", Harness.promptsOfSplit(true, 1).get(0), 2));
    h.produceComparisons(groups);
    List<Resume> resumes = Collections.synchronizedList(new ArrayList<>());

    // 1. SFT, then a crash at the DPO round's first checkpoint
    PolicyTrainerStatus s1 = new PolicyTrainerStatus();
    PolicyTrainerLoop first =
        h.loop(
            s1,
            new PolicyTrainerLoop.Events() {
              @Override
              public void checkpointed(String kind, long round, long step) {
                if (kind.equals("dpo")) {
                  throw new RestartTest.SimulatedCrash("after the DPO checkpoint at step " + step);
                }
              }
            });
    first.start().join(120_000);
    assertEquals(PolicyTrainerStatus.Phase.FAILED, s1.phase());
    assertEquals(List.of(1L), versions(h));

    // 2. restart: resumes the DPO round at step 1, publishes version 2, crashes right after
    PolicyTrainerStatus s2 = new PolicyTrainerStatus();
    PolicyTrainerLoop second =
        h.loop(
            s2,
            new PolicyTrainerLoop.Events() {
              @Override
              public void resumed(String kind, long round, long step) {
                resumes.add(new Resume(kind, round, step));
              }

              @Override
              public void published(PolicyVersion version) {
                throw new RestartTest.SimulatedCrash("after publishing v" + version.getVersion());
              }
            });
    second.start().join(90_000);
    assertEquals(PolicyTrainerStatus.Phase.FAILED, s2.phase());
    assertEquals(List.of(new Resume("dpo", 2, 1)), resumes);
    assertEquals(List.of(1L, 2L), versions(h));
    PolicyVersion dpo = h.latestPolicyVersions().get(1);
    assertEquals("dpo", dpo.getHyperparameters().get("ppo.algorithm"));
    assertEquals(MIN_GROUPS, dpo.getMetrics().get("groups"), 0);
    assertTrue(hasCheckpoint(h), "the crash left the published round's checkpoint behind");

    // 3. restart: that checkpoint's round is published: discarded, nothing trained or published
    PolicyTrainerStatus s3 = new PolicyTrainerStatus();
    CountDownLatch idled = new CountDownLatch(2);
    PolicyTrainerLoop third =
        h.loop(
            s3,
            new PolicyTrainerLoop.Events() {
              @Override
              public void resumed(String kind, long round, long step) {
                resumes.add(new Resume(kind, round, step));
              }

              @Override
              public void idle() {
                idled.countDown();
              }
            });
    third.start();
    assertTrue(idled.await(60, TimeUnit.SECONDS), "the restarted loop went idle");
    assertTrue(third.stop(Duration.ofSeconds(30)));
    assertEquals(1, resumes.size(), "no resume of a published round: " + resumes);
    assertFalse(hasCheckpoint(h));
    assertEquals(0, s3.versionsPublished());
    assertEquals(List.of(1L, 2L), versions(h));
    assertTrue(h.policyVersions().stream().filter(v -> v.getVersion() == 2).count() <= 2);

    // the resumed round continued: step 1 before the crash, 2..4 after it
    List<Long> steps =
        h.metrics().stream()
            .filter(e -> e.getPhase().equals("dpo"))
            .map(TrainingMetrics::getStep)
            .toList();
    assertEquals(List.of(1L, 2L, 3L, 4L), steps);
  }

  private static List<Long> versions(Harness h) {
    return h.latestPolicyVersions().stream().map(PolicyVersion::getVersion).toList();
  }

  private static boolean hasCheckpoint(Harness h) throws Exception {
    Path dir = Path.of(h.config.getStateDir()).resolve("checkpoints");
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> list = Files.list(dir)) {
      return list.anyMatch(p -> p.getFileName().toString().startsWith("checkpoint-"));
    }
  }

  /** Waits (up to 60 s) until {@code condition} holds; fails early when the loop failed. */
  private static void await(BooleanSupplier condition, PolicyTrainerStatus status, String what)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + 60_000;
    while (!condition.getAsBoolean()) {
      if (status.phase() == PolicyTrainerStatus.Phase.FAILED) {
        throw new AssertionError("the loop failed: " + status.lastError());
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting: " + what);
      }
      Thread.sleep(50);
    }
  }
}
