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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A retrained SFT version replaces the LIVE SFT version when it imitates held-out demonstrations
 * better, through CANDIDATE then LIVE (the path serving canaries), and stays a CANDIDATE when it
 * does worse. Before, every retrained SFT waited as CANDIDATE while users were served the first,
 * worst, one.
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
  void aRetrainedSftThatImitatesWorseStaysCandidate(FlywheelInfra infra) throws Exception {
    Harness h = harness(infra);
    h.produceDemonstrations(40, 1);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    PolicyTrainerLoop loop = h.loop(status, null);
    loop.start();
    PolicyVersion first;
    try {
      first = h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
    } finally {
      assertTrue(loop.stop(Duration.ofSeconds(30)));
    }
    // the next round wrecks the model: Adam steps of size 1 move every weight by about 1 per step
    h.sft.setLearningRate(1.0f);
    h.produceDemonstrations(40, 2);
    PolicyTrainerStatus again = new PolicyTrainerStatus();
    PolicyTrainerLoop second = h.loop(again, null);
    second.start();
    try {
      PolicyVersion worse =
          h.awaitVersion(
              v -> v.getVersion() == first.getVersion() + 1, Duration.ofSeconds(90), again);
      Map<String, Double> m = worse.getMetrics();
      assertTrue(m.get("eval_loss") > m.get("live_eval_loss"), m.toString());
      assertEquals(
          ModelStatus.CANDIDATE, worse.getStatus(), "a worse SFT does not replace the LIVE one");
      assertEquals(List.of(ModelStatus.CANDIDATE), statusesOf(h, worse.getVersion()));
    } finally {
      second.stop(Duration.ofSeconds(30));
    }
  }
}
