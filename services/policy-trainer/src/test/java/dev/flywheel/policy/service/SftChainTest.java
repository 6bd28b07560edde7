package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.policy.train.SftContinuation;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code sft-continue} on a real broker: with nothing else to do, the loop goes on training the
 * latest SFT version on the same demonstrations in rounds of at most {@code max-steps}, each
 * published as a version, until {@code epochs} are done — and a round that imitates the held-out
 * demonstrations worse than its parent is REJECTED and ends the chain, the parent staying LIVE; a
 * continuation round in progress gives way to the first RL round once a reward model is accepted.
 */
@ExtendWith(FlywheelInfraExtension.class)
class SftChainTest {

  @Test
  void theLoopContinuesSftOnTheSameDemonstrationsUntilItsEpochsAreDone(FlywheelInfra infra)
      throws Exception {
    Harness h = new Harness(infra);
    h.config.setSftContinue(true);
    h.sft.setEpochs(24); // 40 demonstrations, batch 8: ~4 steps an epoch, ~96 steps, 40 a round
    h.produceDemonstrations(40, 1);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    IdleAfterSftChain events = new IdleAfterSftChain(h.sft);
    PolicyTrainerLoop loop = h.loop(status, events);
    loop.start();
    try {
      assertTrue(
          events.idle.await(180, TimeUnit.SECONDS),
          "the chain ends and the loop waits; versions: " + h.latestPolicyVersions());
    } finally {
      assertTrue(loop.stop(Duration.ofSeconds(30)));
    }
    List<PolicyVersion> versions = h.latestPolicyVersions();
    assertTrue(versions.size() >= 3, "a root and at least two continuations: " + versions);
    PolicyVersion root = versions.get(0);
    int train = (int) Math.round(root.getMetrics().get("train_examples"));
    int budget = SftContinuation.budget(h.sft, train);
    assertEquals(ModelStatus.LIVE, root.getStatus());
    assertEquals(40.0, root.getMetrics().get("steps"), "the first round stops at max-steps");
    assertEquals(40.0, root.getMetrics().get(SftContinuation.CHAIN_STEPS));
    assertEquals(0.0, root.getMetrics().get(SftContinuation.CHAIN_ROUND));
    assertTrue(budget > 80, "the budget needs more than two rounds: " + budget);

    for (int i = 1; i < versions.size(); i++) {
      PolicyVersion parent = versions.get(i - 1);
      PolicyVersion v = versions.get(i);
      Map<String, Double> m = v.getMetrics();
      int chainBefore = SftContinuation.chainSteps(parent.getMetrics());
      String where = "v" + v.getVersion() + " " + m + " " + v.getHyperparameters();
      assertEquals(PolicyStage.SFT, v.getStage(), where);
      assertEquals(List.of(parent.getVersion()), v.getParentVersions(), where);
      assertEquals(root.getTrainingData(), v.getTrainingData(), "the same demonstrations");
      assertEquals(
          String.valueOf(SftContinuation.roundSteps(h.sft, chainBefore, train)),
          v.getHyperparameters().get("sft.max-steps"),
          "the round is the rest of the budget in rounds of at most 40: " + where);
      assertEquals(
          String.valueOf(h.sft.getSeed() + i),
          v.getHyperparameters().get("sft.seed"),
          "each round shuffles anew: " + where);
      assertEquals((double) i, m.get(SftContinuation.CHAIN_ROUND), where);
      assertEquals(chainBefore + m.get("steps"), m.get(SftContinuation.CHAIN_STEPS), where);
      boolean improved = m.get("eval_loss") < m.get("eval_loss_before");
      // the parent is LIVE: a continuation that imitates better replaces it (through CANDIDATE)
      assertEquals(improved ? ModelStatus.LIVE : ModelStatus.REJECTED, v.getStatus(), where);
      if (i < versions.size() - 1) {
        assertEquals(
            SftContinuation.Verdict.CONTINUE, SftContinuation.verdict(parent.getMetrics(), h.sft));
      }
    }
    PolicyVersion second = versions.get(1);
    assertTrue(
        second.getMetrics().get("eval_loss") < second.getMetrics().get("eval_loss_before"),
        "40 more steps on the same demonstrations imitate the held-out ones better: "
            + second.getMetrics());
    PolicyVersion last = versions.get(versions.size() - 1);
    PolicyVersion lastAccepted =
        versions.stream()
            .filter(v -> v.getStatus() != ModelStatus.REJECTED)
            .reduce((a, b) -> b)
            .get();
    assertEquals(
        lastAccepted.getMetrics().get(SftContinuation.CHAIN_STEPS),
        status.figure("sft_chain_steps"),
        "the chain's progress is a gauge");
    assertEquals((double) budget, status.figure("sft_chain_budget"));
    assertTrue(
        last.getStatus() == ModelStatus.REJECTED
            || SftContinuation.verdict(last.getMetrics(), h.sft)
                != SftContinuation.Verdict.CONTINUE,
        "the chain ended by its rule: " + last.getMetrics());
    if (last.getStatus() != ModelStatus.REJECTED
        && last.getMetrics().get("steps").equals(last.getMetrics().get("planned_steps"))) {
      assertEquals((double) budget, last.getMetrics().get(SftContinuation.CHAIN_STEPS));
    }
  }

  @Test
  void aContinuationRoundGivesWayToTheFirstRlRound(FlywheelInfra infra) throws Exception {
    Harness h = new Harness(infra);
    h.produceDemonstrations(40, 1);
    h.produceTranscripts(30, 2);
    PolicyVersion root = h.firstSftVersion();
    // the continuation would be the rest of 5,000 epochs in one round: ~20,000 steps
    h.sft.setEpochs(5000);
    h.sft.setMaxSteps(100_000);
    h.config.setSftContinue(true);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    PolicyTrainerLoop loop = h.loop(status, null);
    loop.start();
    try {
      long deadline = System.currentTimeMillis() + 60_000;
      while (!(status.phase() == PolicyTrainerStatus.Phase.SFT
          && status.round() == root.getVersion() + 1
          && status.step() > 0)) {
        assertTrue(System.currentTimeMillis() < deadline, "no continuation round in 60 s");
        Thread.sleep(50);
      }
      String[] rm = h.trainRewardModel("rm-v1");
      h.publishRewardModel(1, ModelStatus.LIVE, rm[0], rm[1], 0.25);
      PolicyVersion ppo =
          h.awaitVersion(v -> v.getStage() == PolicyStage.PPO, Duration.ofSeconds(120), status);
      assertEquals(
          root.getVersion() + 1,
          ppo.getVersion(),
          "the continuation round published nothing: " + h.latestPolicyVersions());
      assertEquals(List.of(root.getVersion()), ppo.getParentVersions());
      assertEquals(1L, ppo.getRewardModelVersion());
    } finally {
      assertTrue(loop.stop(Duration.ofSeconds(30)));
    }
  }

  @Test
  void aContinuationThatImitatesWorseIsRejectedAndTheParentStaysLive(FlywheelInfra infra)
      throws Exception {
    Harness h = new Harness(infra);
    h.sft.setEpochs(24);
    h.produceDemonstrations(40, 1);
    PolicyVersion root = h.firstSftVersion();
    // the continuation wrecks the model: Adam steps of size 1 move every weight by about 1 per step
    h.sft.setLearningRate(1.0f);
    h.config.setSftContinue(true);
    PolicyTrainerStatus again = new PolicyTrainerStatus();
    IdleAfterSftChain events = new IdleAfterSftChain(h.sft);
    PolicyTrainerLoop second = h.loop(again, events);
    second.start();
    try {
      assertTrue(
          events.idle.await(90, TimeUnit.SECONDS),
          "the rejected round ends the chain; versions: " + h.latestPolicyVersions());
    } finally {
      assertTrue(second.stop(Duration.ofSeconds(30)));
    }
    List<PolicyVersion> versions = h.latestPolicyVersions();
    assertEquals(2, versions.size(), versions.toString());
    PolicyVersion worse = versions.get(1);
    Map<String, Double> m = worse.getMetrics();
    assertEquals(List.of(root.getVersion()), worse.getParentVersions());
    assertTrue(m.get("eval_loss") > m.get("eval_loss_before"), m.toString());
    assertEquals(ModelStatus.REJECTED, worse.getStatus(), m.toString());
    assertEquals(ModelStatus.LIVE, versions.get(0).getStatus(), "the parent stays LIVE");
    assertTrue(m.containsKey(SftContinuation.CHAIN_STEPS), m.toString());
  }
}
