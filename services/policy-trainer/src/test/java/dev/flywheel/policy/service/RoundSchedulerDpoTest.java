package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.Role;
import dev.flywheel.events.Turn;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.trainerkit.VersionLedger;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The scheduler's DPO decision, on ledgers and a comparison buffer built in memory (no broker: the
 * decision reads only those). The input feed is not needed once an SFT version exists and SFT
 * retraining is off, so the scheduler gets none.
 */
class RoundSchedulerDpoTest {

  private final PolicyTrainerConfig config = new PolicyTrainerConfig();
  private final DpoConfig dpo = new DpoConfig();
  private final VersionLedger<PolicyVersion> policies =
      new VersionLedger<>(
          config.getPolicyVersionsTopic(), PolicyVersion::getVersion, PolicyVersion::getStatus);
  private final VersionLedger<RewardModelVersion> rewards =
      new VersionLedger<>(
          config.getRewardVersionsTopic(),
          RewardModelVersion::getVersion,
          RewardModelVersion::getStatus);
  private final ComparisonBuffer buffer = new ComparisonBuffer(100, 100);
  private final PromptPool prompts = new PromptPool(0.1, 10);

  RoundSchedulerDpoTest() {
    config.setSftRetrain(false);
    config.setSftContinue(false); // RoundSchedulerTest
    dpo.setRoundMinGroups(4);
  }

  private RoundScheduler dpoScheduler() {
    return new RoundScheduler(
        config, new SftConfig(), policies, rewards, prompts, null, dpo, buffer);
  }

  @Test
  void aDpoRoundStartsAtRoundMinGroupsNewTrainGroupsBeyondTheLatestDpoVersion() {
    RoundScheduler scheduler = dpoScheduler();
    assertEquals(RoundScheduler.Decision.WAIT, scheduler.decideDpo(), "no base policy yet");
    policies.apply(version(1, PolicyStage.SFT, ModelStatus.LIVE, Map.of(), List.of()));
    for (int i = 0; i < 3; i++) {
      buffer.add(group(0, i, false));
    }
    for (int i = 3; i < 13; i++) {
      buffer.add(group(0, i, true)); // held-out groups never count
    }
    assertEquals(RoundScheduler.Decision.WAIT, scheduler.decide(), "3 train groups of 4");
    buffer.add(group(1, 0, false));
    assertEquals(RoundScheduler.Decision.DPO, scheduler.decide(), "4 train groups");
    assertEquals("dpo/1", scheduler.currentPair());

    // a DPO version trained on everything up to partition 0 @ 13, partition 1 @ 1: nothing new
    policies.apply(
        version(
            2,
            PolicyStage.PPO,
            ModelStatus.REJECTED,
            Map.of("ppo.algorithm", "dpo", "reference_version", "1"),
            List.of(range(0, 0, 13), range(1, 0, 1))));
    assertEquals(
        RoundScheduler.Decision.WAIT,
        scheduler.decide(),
        "a REJECTED DPO version's groups are not offered again by themselves");
    assertEquals(2L, scheduler.latestDpo().orElseThrow().getVersion());
    for (int i = 1; i < 4; i++) {
      buffer.add(group(1, i, false));
    }
    assertEquals(3, scheduler.newComparisonGroups());
    assertEquals(RoundScheduler.Decision.WAIT, scheduler.decide());
    buffer.add(group(0, 13, false));
    assertEquals(RoundScheduler.Decision.DPO, scheduler.decide(), "4 new beyond v2's data");

    scheduler.markUnusable("dpo/1");
    assertEquals(RoundScheduler.Decision.WAIT, scheduler.decide(), "base v1's artifact is bad");
  }

  @Test
  void withDpoConfiguredAnAcceptedRewardModelStartsNoRlRound() {
    policies.apply(version(1, PolicyStage.SFT, ModelStatus.LIVE, Map.of(), List.of()));
    rewards.apply(
        RewardModelVersion.newBuilder()
            .setEventId("rm-1")
            .setEventTime(Instant.EPOCH)
            .setVersion(1)
            .setStatus(ModelStatus.LIVE)
            .setCreatedAt(Instant.EPOCH)
            .setArtifactUri("file:///rm")
            .setArtifactSha256("0".repeat(64))
            .setRewardOffset(0)
            .setMetrics(Map.of())
            .setTrainingData(List.of())
            .build());
    for (int i = 0; i < 20; i++) {
      prompts.addConfigured(List.of(ChatTurn.user("prompt " + i)));
    }
    assertTrue(prompts.trainCount() >= config.getMinTrainPrompts());
    assertEquals(
        RoundScheduler.Decision.RL,
        new RoundScheduler(config, new SftConfig(), policies, rewards, prompts, null).decide(),
        "the same state without DPO: an RL round");
    assertEquals(RoundScheduler.Decision.WAIT, dpoScheduler().decide(), "DPO waits for groups");
  }

  @Test
  void theReferenceOfADpoChainIsItsSftAncestor() {
    policies.apply(version(1, PolicyStage.SFT, ModelStatus.LIVE, Map.of(), List.of()));
    policies.apply(
        version(
            2,
            PolicyStage.PPO,
            ModelStatus.LIVE,
            Map.of("ppo.algorithm", "dpo", "reference_version", "1"),
            List.of()));
    policies.apply(
        version(
            3,
            PolicyStage.PPO,
            ModelStatus.LIVE,
            Map.of("ppo.algorithm", "dpo", "reference_version", "2"),
            List.of()));
    RoundScheduler scheduler = dpoScheduler();
    assertEquals(1L, scheduler.referenceOf(policies.get(3).orElseThrow()));
    assertEquals(3L, scheduler.basePolicy().orElseThrow().getVersion());
  }

  @Test
  void groupsThatCannotBeTrainedOnAreRefusedWithTheReason() {
    ComparisonGroup good = event(List.of(pair("a", "b"), pair("a", "c"), pair("b", "c")));
    ComparisonBuffer.StoredGroup g = ComparisonBuffer.of(good, 2, 7);
    assertEquals(List.of("ANSWER: 4", "ANSWER: 5", "no idea"), g.responses());
    assertEquals(3, g.pairs().size());
    assertEquals(List.of(0, 2), List.of(g.pairs().get(1)[0], g.pairs().get(1)[1]));
    assertEquals(3, g.ranked().candidates().size());
    assertTrue(g.heldOut());

    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> ComparisonBuffer.of(event(List.of(pair("a", "zz"))), 0, 0));
    assertTrue(unknown.getMessage().contains("group g-1") && unknown.getMessage().contains("zz"));
    IllegalArgumentException none =
        assertThrows(
            IllegalArgumentException.class, () -> ComparisonBuffer.of(event(List.of()), 0, 0));
    assertTrue(none.getMessage().contains("no comparison pairs"), none.getMessage());
  }

  @Test
  void eachSplitKeepsItsMostRecentGroupsAndTheRangeStartsAtTheOldestHeld() {
    ComparisonBuffer small = new ComparisonBuffer(2, 1);
    small.add(group(0, 0, false));
    small.add(group(0, 1, true));
    small.add(group(0, 2, false));
    small.add(group(0, 3, false)); // drops train @0
    small.add(group(0, 4, true)); // drops eval @1
    assertEquals(List.of(2L, 3L), small.train().stream().map(s -> s.offset()).toList());
    assertEquals(List.of(4L), small.eval().stream().map(s -> s.offset()).toList());
    assertEquals(Map.of(0, 2L), small.firstOffsets());
    assertEquals(1, small.trainSince(Map.of(0, 3L)));
  }

  // ---- helpers ----

  private static ComparisonBuffer.StoredGroup group(int partition, long offset, boolean heldOut) {
    return new ComparisonBuffer.StoredGroup(
        partition,
        offset,
        "g-" + partition + "-" + offset,
        "key-" + partition + "-" + offset,
        heldOut,
        List.of(ChatTurn.user("q" + offset)),
        List.of("yes", "no"),
        List.of(new int[] {0, 1}));
  }

  private static OffsetRange range(int partition, long from, long until) {
    return OffsetRange.newBuilder()
        .setTopic(new PolicyTrainerConfig().getComparisonsTopic())
        .setPartition(partition)
        .setFromOffset(from)
        .setUntilOffset(until)
        .build();
  }

  private static PolicyVersion version(
      long v,
      PolicyStage stage,
      ModelStatus status,
      Map<String, String> hp,
      List<OffsetRange> data) {
    return PolicyVersion.newBuilder()
        .setEventId("e-" + v)
        .setEventTime(Instant.EPOCH)
        .setVersion(v)
        .setStage(stage)
        .setParentVersions(v == 1 ? List.of() : List.of(v - 1))
        .setStatus(status)
        .setCreatedAt(Instant.EPOCH)
        .setArtifactUri("file:///v" + v)
        .setArtifactSha256("0".repeat(64))
        .setMetrics(Map.of())
        .setHyperparameters(hp)
        .setTrainingData(data)
        .build();
  }

  private static ComparisonPair pair(String chosen, String rejected) {
    return new ComparisonPair(chosen, rejected);
  }

  private static ComparisonGroup event(List<ComparisonPair> pairs) {
    return ComparisonGroup.newBuilder()
        .setEventId("e-1")
        .setEventTime(Instant.EPOCH)
        .setGroupId("g-1")
        .setRankingId("g-1")
        .setTranscriptId("t-1")
        .setPromptKey("k")
        .setTurns(List.of(new Turn(Role.USER, "What is 2 plus 2?")))
        .setPrompt("What is 2 plus 2?")
        .setResponses(
            List.of(
                new RankedResponse("a", "ANSWER: 4", 0, null),
                new RankedResponse("b", "ANSWER: 5", 1, null),
                new RankedResponse("c", "no idea", 2, null)))
        .setPairs(pairs)
        .setPairWeight(pairs.isEmpty() ? 0 : 1.0 / pairs.size())
        .setAnnotatorIds(List.of("labeler-1"))
        .setSplit(DataSplit.EVAL)
        .setSourceOffsets(List.of())
        .build();
  }
}
