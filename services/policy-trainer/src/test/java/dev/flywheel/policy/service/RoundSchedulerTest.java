package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.service.RoundScheduler.Decision;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftContinuation;
import dev.flywheel.trainerkit.VersionLedger;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * When the scheduler starts an RL round and when it continues the latest SFT version ({@code
 * sft-continue}), on ledgers built in memory (no broker: the decision reads only those; SFT
 * retraining on new demonstrations is off, so the input feed is not read).
 */
class RoundSchedulerTest {

  private final PolicyTrainerConfig config = new PolicyTrainerConfig();
  private final SftConfig sft = new SftConfig(); // 16 epochs of 1,800 examples: 1,808 steps
  private final VersionLedger<PolicyVersion> policies =
      new VersionLedger<>(
          config.getPolicyVersionsTopic(), PolicyVersion::getVersion, PolicyVersion::getStatus);
  private final VersionLedger<RewardModelVersion> rewards =
      new VersionLedger<>(
          config.getRewardVersionsTopic(),
          RewardModelVersion::getVersion,
          RewardModelVersion::getStatus);
  private final PromptPool prompts = new PromptPool(0.1, 10);
  private final RoundScheduler scheduler =
      new RoundScheduler(config, sft, policies, rewards, prompts, null);

  RoundSchedulerTest() {
    config.setSftRetrain(false);
    sft.setEpochs(16);
    config.setPpoSchedule(Duration.ZERO); // RL only for a new reward model or a fresh SFT base
    for (int i = 0; i < 20; i++) {
      prompts.addConfigured(List.of(ChatTurn.user("prompt " + i)));
    }
  }

  @Test
  void theLatestSftContinuesOnlyWhenNothingElseIsDueAndUntilItsEpochsAreDone() {
    policies.apply(sftVersion(1, List.of(), ModelStatus.LIVE, 600, 600, 600));
    assertEquals(Decision.SFT_CONTINUE, scheduler.decide(), "no reward model yet: SFT goes on");
    config.setSftContinue(false);
    assertEquals(Decision.WAIT, scheduler.decide(), "sft-continue off: the 600-step cap binds");
    config.setSftContinue(true);

    rewards.apply(rewardVersion(1));
    assertEquals(Decision.RL, scheduler.decide(), "an RL round on a fresh SFT comes first");
    policies.apply(ppoVersion(2, 1));
    assertEquals(
        Decision.SFT_CONTINUE, scheduler.decide(), "then SFT goes on, v1 has no SFT child");

    policies.apply(sftVersion(3, List.of(1L), ModelStatus.CANDIDATE, 403, 403, 1003));
    assertEquals(Decision.RL, scheduler.decide(), "RL from the continued SFT first");
    policies.apply(ppoVersion(4, 3));
    assertEquals(Decision.SFT_CONTINUE, scheduler.decide());

    policies.apply(sftVersion(5, List.of(3L), ModelStatus.CANDIDATE, 403, 403, 1406));
    policies.apply(ppoVersion(6, 5));
    policies.apply(sftVersion(7, List.of(5L), ModelStatus.CANDIDATE, 402, 402, 1808));
    policies.apply(ppoVersion(8, 7));
    assertEquals(
        SftContinuation.Verdict.EPOCHS_DONE,
        SftContinuation.verdict(policies.get(7).orElseThrow().getMetrics(), sft));
    assertEquals(Decision.WAIT, scheduler.decide(), "16 epochs done: the chain ends");
  }

  @Test
  void anRlRoundComesForANewRewardModelOrAFreshSftBaseAndByDefaultOnlyThen() {
    config.setSftContinue(false);
    config.setPpoSchedule(new PolicyTrainerConfig().getPpoSchedule());
    assertEquals(Duration.ZERO, config.getPpoSchedule(), "ppo-schedule is off by default");
    policies.apply(sftVersion(1, List.of(), ModelStatus.LIVE, 600, 600, 600));
    assertEquals(Decision.WAIT, scheduler.decide(), "no reward model yet");
    rewards.apply(rewardVersion(1));
    assertEquals(Decision.RL, scheduler.decide(), "a new reward model and a fresh SFT base");

    Instant now = Instant.now();
    policies.apply(ppoVersion(2, 1, 1, now.minus(Duration.ofHours(2))));
    assertEquals(
        Decision.WAIT,
        scheduler.decide(),
        "v2 optimised reward model 1 two hours ago: no further round on it by default");
    config.setPpoSchedule(Duration.ofHours(1));
    assertEquals(Decision.RL, scheduler.decide(), "ppo-schedule 1h, and v2 is two hours old");
    policies.apply(ppoVersion(3, 2, 1, now.minus(Duration.ofMinutes(10))));
    assertEquals(Decision.WAIT, scheduler.decide(), "ppo-schedule 1h, and v3 is ten minutes old");

    config.setPpoSchedule(Duration.ZERO);
    rewards.apply(rewardVersion(2));
    assertEquals(Decision.RL, scheduler.decide(), "a new reward model: RL continues from v3");
    assertEquals("2/3", scheduler.currentPair());
    scheduler.markUnusable("2/3");
    assertEquals(Decision.WAIT, scheduler.decide(), "not while that pair cannot be loaded");
    policies.apply(ppoVersion(4, 3, 2, now));
    assertEquals(Decision.WAIT, scheduler.decide(), "reward model 2 has its PPO version");
  }

  @Test
  void aRoundThatStoppedEarlyOrWasRejectedEndsTheChain() {
    policies.apply(sftVersion(1, List.of(), ModelStatus.LIVE, 600, 600, 600));
    policies.apply(sftVersion(2, List.of(1L), ModelStatus.LIVE, 300, 403, 900));
    assertEquals(Decision.WAIT, scheduler.decide(), "v2's eval loss stopped improving");

    policies.apply(sftVersion(3, List.of(), ModelStatus.CANDIDATE, 600, 600, 600));
    policies.apply(sftVersion(4, List.of(3L), ModelStatus.REJECTED, 403, 403, 1003));
    assertEquals(3L, scheduler.latestSft().orElseThrow().getVersion(), "v4 is not a base");
    assertEquals(
        Decision.WAIT, scheduler.decide(), "v3 was continued once, and that round was rejected");
  }

  // ---- helpers ----

  private static PolicyVersion sftVersion(
      long v, List<Long> parents, ModelStatus status, int steps, int planned, int chain) {
    Map<String, Double> m = new HashMap<>();
    m.put("steps", (double) steps);
    m.put("planned_steps", (double) planned);
    m.put("train_examples", 1800.0);
    m.put("eval_loss_before", 1.0);
    m.put("eval_loss", 0.5);
    m.put(SftContinuation.CHAIN_STEPS, (double) chain);
    return version(v, PolicyStage.SFT, parents, status, m, Map.of());
  }

  private static PolicyVersion ppoVersion(long v, long base) {
    return ppoVersion(v, base, 1, Instant.EPOCH);
  }

  private static PolicyVersion ppoVersion(long v, long base, long rewardModel, Instant createdAt) {
    PolicyVersion p =
        version(
            v,
            PolicyStage.PPO,
            List.of(base),
            ModelStatus.LIVE,
            Map.of(),
            Map.of("reference_version", String.valueOf(base)));
    p.setRewardModelVersion(rewardModel);
    p.setCreatedAt(createdAt);
    return p;
  }

  private static PolicyVersion version(
      long v,
      PolicyStage stage,
      List<Long> parents,
      ModelStatus status,
      Map<String, Double> metrics,
      Map<String, String> hp) {
    return PolicyVersion.newBuilder()
        .setEventId("e-" + v)
        .setEventTime(Instant.EPOCH)
        .setVersion(v)
        .setStage(stage)
        .setParentVersions(parents)
        .setStatus(status)
        .setCreatedAt(Instant.EPOCH)
        .setArtifactUri("file:///v" + v)
        .setArtifactSha256("0".repeat(64))
        .setMetrics(metrics)
        .setHyperparameters(hp)
        .setTrainingData(List.of())
        .build();
  }

  private static RewardModelVersion rewardVersion(long v) {
    return RewardModelVersion.newBuilder()
        .setEventId("rm-" + v)
        .setEventTime(Instant.EPOCH)
        .setVersion(v)
        .setStatus(ModelStatus.LIVE)
        .setCreatedAt(Instant.EPOCH)
        .setArtifactUri("file:///rm")
        .setArtifactSha256("0".repeat(64))
        .setRewardOffset(0)
        .setMetrics(Map.of())
        .setTrainingData(List.of())
        .build();
  }
}
