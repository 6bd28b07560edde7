package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.ModelKind;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole service loop on the real broker and registry: demonstrations on the topic → an SFT
 * policy version with a loadable, checksummed artifact; a reward model version → a PPO policy
 * version with the reward model, lineage, hyper-parameters, data ranges and eval figures; training
 * metrics alongside.
 */
@ExtendWith(FlywheelInfraExtension.class)
class PolicyTrainerIntegrationTest {

  @Test
  void demonstrationsBecomeAnSftVersionAndARewardModelBecomesAPpoVersion(FlywheelInfra infra)
      throws Exception {
    Harness h = new Harness(infra);
    h.produceDemonstrations(40, 1);
    h.produceTranscripts(30, 2);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    java.util.concurrent.atomic.AtomicInteger idle =
        new java.util.concurrent.atomic.AtomicInteger();
    PolicyTrainerLoop loop =
        h.loop(
            status,
            new PolicyTrainerLoop.Events() {
              @Override
              public void idle() {
                idle.incrementAndGet();
              }
            });
    loop.start();
    try {
      // ---- SFT ----
      PolicyVersion sft =
          h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
      assertEquals(1, sft.getVersion());
      assertEquals(
          ModelStatus.LIVE, sft.getStatus(), "the first policy is LIVE: serving needs one");
      assertTrue(sft.getParentVersions().isEmpty(), "the SFT policy is the lineage root");
      assertNull(sft.getRewardModelVersion());
      assertTrue(
          sft.getMetrics().get("eval_loss") < sft.getMetrics().get("eval_loss_before"),
          sft.getMetrics().toString());
      assertTrue(sft.getMetrics().containsKey("perplexity"));
      assertEquals(40.0, sft.getMetrics().get("demonstrations"));
      assertEquals("40", sft.getHyperparameters().get("sft.max-steps"));
      long demoOffsets =
          sft.getTrainingData().stream()
              .filter(r -> r.getTopic().equals(h.config.getDemonstrationsTopic()))
              .mapToLong(r -> r.getUntilOffset() - r.getFromOffset())
              .sum();
      assertEquals(
          40, demoOffsets, "training data covers every demonstration: " + sft.getTrainingData());
      try (NDManager m = NDManager.newBaseManager();
          LoadedModel loaded =
              ModelArtifacts.load(
                  Path.of(URI.create(sft.getArtifactUri())), sft.getArtifactSha256(), m)) {
        assertEquals(ModelKind.POLICY, loaded.kind());
        assertEquals(sft.getArtifactSha256(), loaded.sha256());
        assertEquals("1", loaded.metadata().get("version"));
      }

      // ---- PPO against a reward model trained here ----
      String[] rm = h.trainRewardModel("rm-v1");
      h.publishRewardModel(1, ModelStatus.LIVE, rm[0], rm[1], 0.25);
      PolicyVersion ppo =
          h.awaitVersion(v -> v.getStage() == PolicyStage.PPO, Duration.ofSeconds(120), status);
      assertEquals(2, ppo.getVersion());
      assertEquals(1L, ppo.getRewardModelVersion());
      assertEquals(
          List.of(1L), ppo.getParentVersions(), "previous policy and SFT reference (both v1)");
      assertTrue(
          List.of(ModelStatus.LIVE, ModelStatus.REJECTED).contains(ppo.getStatus()),
          "auto-promote: " + ppo.getStatus());
      for (String key :
          List.of(
              "eval_mean_reward",
              "win_rate_vs_previous",
              "win_rate_vs_sft",
              "eval_kl",
              "eval_reward_change_low",
              "eval_reward_change_high",
              "mean_reward",
              "kl",
              "beta")) {
        assertTrue(ppo.getMetrics().containsKey(key), key + " in " + ppo.getMetrics());
      }
      double change =
          ppo.getMetrics().get("eval_mean_reward")
              - ppo.getMetrics().get("eval_mean_reward_previous");
      assertTrue(
          ppo.getMetrics().get("eval_reward_change_low") <= change
              && change <= ppo.getMetrics().get("eval_reward_change_high"),
          "the gate's interval holds the mean change " + change + ": " + ppo.getMetrics());
      assertEquals("0.95", ppo.getHyperparameters().get("ppo.reward-drop-confidence"));
      assertEquals("1", ppo.getHyperparameters().get("reference_version"));
      assertEquals("8", ppo.getHyperparameters().get("ppo.rollout-batch-size"));
      assertEquals("reward_model_v1", ppo.getHyperparameters().get("value_init"));
      assertEquals(rm[1], ppo.getHyperparameters().get("reward_model_sha256"));
      List<OffsetRange> transcripts =
          ppo.getTrainingData().stream()
              .filter(r -> r.getTopic().equals(h.config.getTranscriptsTopic()))
              .toList();
      assertEquals(
          30,
          transcripts.stream().mapToLong(r -> r.getUntilOffset() - r.getFromOffset()).sum(),
          transcripts.toString());
      try (NDManager m = NDManager.newBaseManager();
          LoadedModel loaded =
              ModelArtifacts.load(
                  Path.of(URI.create(ppo.getArtifactUri())), ppo.getArtifactSha256(), m)) {
        assertEquals(ModelKind.POLICY, loaded.kind());
        assertEquals("1", loaded.metadata().get("reward_model_version"));
      }
      if (ppo.getStatus() == ModelStatus.LIVE) {
        // auto-promoted versions show the gate passing first (CANDIDATE), then LIVE, in one
        // transaction
        List<ModelStatus> history =
            h.policyVersions().stream()
                .filter(v -> v.getVersion() == 2)
                .map(PolicyVersion::getStatus)
                .toList();
        assertEquals(List.of(ModelStatus.CANDIDATE, ModelStatus.LIVE), history);
      }

      // ---- training metrics ----
      List<TrainingMetrics> metrics = h.metrics();
      assertTrue(metrics.stream().allMatch(m -> m.getSource().equals("policy-trainer")));
      TrainingMetrics sftFinal =
          metrics.stream()
              .filter(m -> m.getPhase().equals("sft") && m.getValues().containsKey("eval_loss"))
              .findFirst()
              .orElseThrow();
      assertEquals(1L, sftFinal.getModelVersion());
      assertTrue(
          sftFinal.getValues().keySet().containsAll(List.of("loss", "eval_loss", "perplexity")));
      List<TrainingMetrics> ppoMetrics =
          metrics.stream().filter(m -> m.getPhase().equals("ppo")).toList();
      assertEquals(2, ppoMetrics.size(), "one per iteration");
      for (TrainingMetrics m : ppoMetrics) {
        assertEquals(2L, m.getModelVersion());
        assertEquals(2L, m.getRound());
        assertTrue(
            m.getValues()
                .keySet()
                .containsAll(
                    List.of(
                        "mean_reward",
                        "kl",
                        "entropy",
                        "clip_fraction",
                        "value_loss",
                        "explained_variance",
                        "beta",
                        "rollout_tokens_per_s",
                        "generation_share")),
            m.getValues().toString());
      }
      assertFalse(metrics.stream().noneMatch(m -> m.getPhase().equals("eval")));
      assertEquals(2, status.versionsPublished());

      // ---- a reward model whose artifact fails verification: skipped, the loop lives on ----
      h.publishRewardModel(2, ModelStatus.LIVE, rm[0], "0".repeat(64), 0.25);
      long deadline = System.currentTimeMillis() + 30_000;
      while (status.lastError() == null && System.currentTimeMillis() < deadline) {
        Thread.sleep(200);
      }
      assertTrue(
          status.lastError() != null && status.lastError().contains("reward model v2"),
          String.valueOf(status.lastError()));
      // two passes of the scheduler after the failure that chose to wait: the pair is not retried
      int idleAtError = idle.get();
      deadline = System.currentTimeMillis() + 30_000;
      while (idle.get() < idleAtError + 2 && System.currentTimeMillis() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(idle.get() >= idleAtError + 2, "the loop went idle again after the failure");
      assertEquals(PolicyTrainerStatus.Phase.IDLE, status.phase());
      assertEquals(2, status.versionsPublished(), "no PPO round on an unverifiable reward model");
    } finally {
      assertTrue(loop.stop(Duration.ofSeconds(60)));
    }
    assertEquals(PolicyTrainerStatus.Phase.STOPPED, status.phase());
  }
}
