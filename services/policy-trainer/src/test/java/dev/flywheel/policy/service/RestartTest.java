package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Crash safety: a trainer killed in the middle of a round resumes from its last checkpoint (not
 * from scratch), one killed right after publishing does not publish the round again, and version
 * numbers are never reused (not even a tombstoned one). Run with PPO (policy and value
 * checkpointed) and RLOO (no value model: the policy alone).
 */
@ExtendWith(FlywheelInfraExtension.class)
class RestartTest {

  /**
   * Thrown by the test's hooks to kill the loop at a chosen point (it ends FAILED, like a crash).
   */
  static final class SimulatedCrash extends RuntimeException {
    SimulatedCrash(String where) {
      super("simulated crash " + where);
    }
  }

  record Resume(String kind, long round, long step) {}

  @ParameterizedTest
  @EnumSource(
      value = PpoConfig.Algorithm.class,
      names = {"PPO", "RLOO"})
  void restartsResumeFromTheLastCheckpointAndNeverReuseAVersionNumber(
      PpoConfig.Algorithm algorithm, FlywheelInfra infra) throws Exception {
    Harness h = new Harness(infra);
    h.ppo.setAlgorithm(algorithm);
    h.ppo.setSamplesPerPrompt(
        algorithm == PpoConfig.Algorithm.PPO ? 1 : 4); // 2 prompts × 4 of the batch of 8
    h.config.setSftCheckpointEvery(20); // SFT: 40 steps, checkpoint at 20
    h.config.setPpoCheckpointEvery(1); // PPO: 3 iterations, checkpoints at 1 and 2
    h.ppo.setIterationsPerRound(3);
    h.produceDemonstrations(40, 3);
    h.produceTranscripts(20, 4);
    // version 3 existed once and was deleted (tombstone): its number stays taken
    try (KafkaProducer<String, byte[]> p =
        new KafkaProducer<>(
            h.infra.producerProps(),
            new StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      p.send(new ProducerRecord<>(h.config.getPolicyVersionsTopic(), "3", null)).get();
    }
    List<Resume> resumes = Collections.synchronizedList(new ArrayList<>());

    // 1. crash at the SFT checkpoint of step 20
    PolicyTrainerStatus s1 = new PolicyTrainerStatus();
    PolicyTrainerLoop first =
        h.loop(
            s1,
            new PolicyTrainerLoop.Events() {
              @Override
              public void checkpointed(String kind, long round, long step) {
                throw new SimulatedCrash("after the " + kind + " checkpoint at step " + step);
              }
            });
    first.start().join(60_000);
    assertEquals(PolicyTrainerStatus.Phase.FAILED, s1.phase());
    assertTrue(h.policyVersions().isEmpty());

    // 2. restart: resumes SFT at step 20, publishes version 4; then crashes at the first PPO
    // checkpoint
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
              public void checkpointed(String kind, long round, long step) {
                if (kind.equals("ppo")) {
                  throw new SimulatedCrash("after the PPO checkpoint at iteration " + step);
                }
              }
            });
    second.start();
    PolicyVersion sft =
        h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(60), s2);
    assertEquals(4, sft.getVersion(), "3 was taken (tombstone): the first version is 4");
    assertEquals(List.of(new Resume("sft", 4, 20)), resumes);
    String[] rm = h.trainRewardModel("rm-restart");
    h.publishRewardModel(1, ModelStatus.LIVE, rm[0], rm[1], 0.0);
    second.thread().join(90_000);
    assertEquals(PolicyTrainerStatus.Phase.FAILED, s2.phase(), "crashed at the PPO checkpoint");

    // 3. restart: resumes PPO at iteration 1, publishes version 5, crashes right after publishing
    PolicyTrainerStatus s3 = new PolicyTrainerStatus();
    PolicyTrainerLoop third =
        h.loop(
            s3,
            new PolicyTrainerLoop.Events() {
              @Override
              public void resumed(String kind, long round, long step) {
                resumes.add(new Resume(kind, round, step));
              }

              @Override
              public void published(PolicyVersion version) {
                throw new SimulatedCrash("after publishing version " + version.getVersion());
              }
            });
    third.start().join(90_000);
    assertEquals(PolicyTrainerStatus.Phase.FAILED, s3.phase());
    assertEquals(new Resume("ppo", 5, 1), resumes.get(1));
    PolicyVersion ppo =
        h.awaitVersion(v -> v.getStage() == PolicyStage.PPO, Duration.ofSeconds(5), null);
    assertEquals(5, ppo.getVersion());
    assertEquals(List.of(4L), ppo.getParentVersions());
    assertEquals(
        algorithm.name().toLowerCase(java.util.Locale.ROOT),
        ppo.getHyperparameters().get("ppo.algorithm"));
    assertEquals(
        algorithm == PpoConfig.Algorithm.PPO,
        !ppo.getHyperparameters().get("value_init").equals("none"),
        "value_init " + ppo.getHyperparameters().get("value_init"));
    assertTrue(hasCheckpoint(h), "the crash left the published round's checkpoint behind");

    // 4. restart: the checkpoint's round is already published: discarded, nothing is published
    // again
    PolicyTrainerStatus s4 = new PolicyTrainerStatus();
    java.util.concurrent.CountDownLatch idled = new java.util.concurrent.CountDownLatch(2);
    PolicyTrainerLoop fourth =
        h.loop(
            s4,
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
    fourth.start();
    // the scheduler's first pass after start-up (checkpoint handled by then) found nothing to do
    assertTrue(
        idled.await(60, java.util.concurrent.TimeUnit.SECONDS), "the restarted loop went idle");
    assertTrue(fourth.stop(Duration.ofSeconds(30)));
    assertEquals(PolicyTrainerStatus.Phase.STOPPED, s4.phase());
    assertEquals(2, resumes.size(), "no resume of a published round: " + resumes);
    assertTrue(!hasCheckpoint(h));
    assertEquals(0, s4.versionsPublished());

    List<Long> numbers = h.latestPolicyVersions().stream().map(PolicyVersion::getVersion).toList();
    assertEquals(List.of(4L, 5L), numbers);
    long ppoRecords = h.policyVersions().stream().filter(v -> v.getVersion() == 5).count();
    assertTrue(ppoRecords <= 2, "version 5 published once (CANDIDATE+LIVE at most): " + ppoRecords);

    // metrics show the resumed rounds continuing, not restarting: SFT steps 10, 20 | 30, 40; PPO
    // iterations 1 | 2, 3
    List<TrainingMetrics> metrics = h.metrics();
    List<Long> sftSteps =
        metrics.stream()
            .filter(m -> m.getPhase().equals("sft") && m.getValues().containsKey("learning_rate"))
            .map(TrainingMetrics::getStep)
            .toList();
    assertEquals(List.of(10L, 20L, 30L, 40L), sftSteps);
    List<Long> ppoSteps =
        metrics.stream()
            .filter(m -> m.getPhase().equals("ppo"))
            .map(TrainingMetrics::getStep)
            .toList();
    assertEquals(List.of(1L, 2L, 3L), ppoSteps);
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
}
