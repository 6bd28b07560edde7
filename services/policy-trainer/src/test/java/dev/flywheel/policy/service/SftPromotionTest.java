package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A retrained SFT version replaces the LIVE SFT version when it imitates held-out demonstrations
 * better, through CANDIDATE then LIVE (the path serving canaries), and is REJECTED when it does
 * worse than the version it was retrained from: as a CANDIDATE it would have become the base the
 * next RL round continues from. Before, every retrained SFT waited as CANDIDATE while users were
 * served the first, worst, one. A retrain resumed after a crash is judged against its parent, not
 * against its own checkpoint.
 */
@ExtendWith(FlywheelInfraExtension.class)
class SftPromotionTest {

  private static Harness harness(FlywheelInfra infra) {
    Harness h = new Harness(infra);
    h.config.setSftRetrain(true);
    h.config.setSftRetrainMinNew(40);
    return h;
  }

  private static List<ModelStatus> statusesOf(Harness h, long version) {
    return h.policyVersions().stream()
        .filter(v -> v.getVersion() == version)
        .map(PolicyVersion::getStatus)
        .toList();
  }

  @Test
  void aRetrainedSftThatImitatesBetterGoesLiveThroughCandidate(FlywheelInfra infra)
      throws Exception {
    Harness h = harness(infra);
    h.produceDemonstrations(40, 1);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    PolicyTrainerLoop loop = h.loop(status, null);
    loop.start();
    try {
      PolicyVersion first =
          h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
      assertEquals(ModelStatus.LIVE, first.getStatus());
      h.produceDemonstrations(40, 2);
      PolicyVersion second =
          h.awaitVersion(
              v -> v.getVersion() == first.getVersion() + 1, Duration.ofSeconds(90), status);
      Map<String, Double> m = second.getMetrics();
      assertEquals(PolicyStage.SFT, second.getStage());
      assertEquals((double) first.getVersion(), m.get("live_version"));
      assertTrue(
          m.get("eval_loss") < m.get("live_eval_loss"),
          "40 more steps on twice the demonstrations imitate the held-out ones better: " + m);
      assertEquals(ModelStatus.LIVE, second.getStatus(), m.toString());
      assertEquals(
          List.of(ModelStatus.CANDIDATE, ModelStatus.LIVE), statusesOf(h, second.getVersion()));
    } finally {
      loop.stop(Duration.ofSeconds(30));
    }
  }

  @Test
  void aRetrainedSftThatImitatesWorseThanItsParentIsRejectedAndNotRetried(FlywheelInfra infra)
      throws Exception {
    Harness h = harness(infra);
    h.produceDemonstrations(40, 1);
    PolicyVersion first = h.firstSftVersion();
    // the next round wrecks the model: Adam steps of size 1 move every weight by about 1 per step
    h.sft.setLearningRate(1.0f);
    h.produceDemonstrations(40, 2);
    PolicyTrainerStatus again = new PolicyTrainerStatus();
    IdleAfterSftChain events = new IdleAfterSftChain(h.sft);
    PolicyTrainerLoop second = h.loop(again, events);
    second.start();
    try {
      assertTrue(
          events.idle.await(90, TimeUnit.SECONDS),
          "the loop rejects the retrain and finds nothing to do; versions: "
              + h.latestPolicyVersions());
    } finally {
      assertTrue(second.stop(Duration.ofSeconds(30)));
    }
    List<PolicyVersion> versions = h.latestPolicyVersions();
    // the scheduler's own WAIT came after the REJECTED version, and nothing after it: the
    // demonstrations it tried are not trained on again until sft-retrain-min-new more arrive
    assertEquals(2, versions.size(), versions.toString());
    PolicyVersion worse = versions.get(1);
    Map<String, Double> m = worse.getMetrics();
    assertEquals(List.of(first.getVersion()), worse.getParentVersions());
    assertTrue(m.get("eval_loss") > m.get("eval_loss_before"), m.toString());
    assertEquals(
        List.of(ModelStatus.REJECTED),
        statusesOf(h, worse.getVersion()),
        "a worse retrain must not become the base RL continues from (a CANDIDATE would)");
    assertEquals(ModelStatus.LIVE, versions.get(0).getStatus(), "the parent stays LIVE");
  }

  @Test
  void aRetrainResumedFromItsCheckpointIsJudgedAgainstItsParentNotTheCheckpoint(FlywheelInfra infra)
      throws Exception {
    Harness h = harness(infra);
    h.config.setSftCheckpointEvery(20); // 40 steps: a checkpoint at step 20
    h.produceDemonstrations(40, 1);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    PolicyTrainerLoop loop =
        h.loop(
            status,
            new PolicyTrainerLoop.Events() {
              private volatile long firstVersion = Long.MAX_VALUE;

              @Override
              public void published(PolicyVersion version) {
                firstVersion = Math.min(firstVersion, version.getVersion());
              }

              @Override
              public void checkpointed(String kind, long round, long step) {
                if (round > firstVersion) {
                  throw new RestartTest.SimulatedCrash("at the retrain's checkpoint " + step);
                }
              }
            });
    loop.start();
    PolicyVersion first =
        h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
    h.produceDemonstrations(40, 2);
    loop.thread().join(90_000);
    assertEquals(PolicyTrainerStatus.Phase.FAILED, status.phase(), "crashed mid-retrain");

    PolicyTrainerStatus again = new PolicyTrainerStatus();
    PolicyTrainerLoop second = h.loop(again, null);
    second.start();
    try {
      PolicyVersion retrained =
          h.awaitVersion(
              v -> v.getVersion() == first.getVersion() + 1, Duration.ofSeconds(90), again);
      Map<String, Double> m = retrained.getMetrics();
      assertEquals(ModelStatus.LIVE, retrained.getStatus(), m.toString());
      // live_eval_loss is the LIVE parent's loss, loaded and measured afresh on the same split;
      // the trainer's own "before" on the resumed round was the step-20 checkpoint's
      assertEquals((double) first.getVersion(), m.get("live_version"));
      assertEquals(m.get("live_eval_loss"), m.get("eval_loss_before"), 1e-4, m.toString());
    } finally {
      second.stop(Duration.ofSeconds(30));
    }
  }
}
