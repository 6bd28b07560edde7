package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.trainerkit.VersionLedger;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the loop decides on is everything published before the tick, not one poll's worth: a reward
 * version published behind more transcripts than one poll returns ({@code max.poll.records} 2,000)
 * is in the ledger after {@link InputFeed#drain} — as after a round of minutes on the local
 * platform, where one poll per tick left it unread round after round.
 */
@ExtendWith(FlywheelInfraExtension.class)
class InputFeedDrainTest {

  @Test
  void aRewardVersionBehindMoreThanOnePollOfTranscriptsIsReadBeforeTheNextDecision(
      FlywheelInfra infra) throws Exception {
    Harness h = new Harness(infra);
    VersionLedger<PolicyVersion> policies =
        new VersionLedger<>(
            h.config.getPolicyVersionsTopic(), PolicyVersion::getVersion, PolicyVersion::getStatus);
    VersionLedger<RewardModelVersion> rewards =
        new VersionLedger<>(
            h.config.getRewardVersionsTopic(),
            RewardModelVersion::getVersion,
            RewardModelVersion::getStatus);
    Map<TopicPartition, Long> versionStart =
        Map.of(
            new TopicPartition(h.config.getPolicyVersionsTopic(), 0), 0L,
            new TopicPartition(h.config.getRewardVersionsTopic(), 0), 0L);
    try (InputFeed feed =
        new InputFeed(
            h.kafka(),
            h.config,
            policies,
            rewards,
            versionStart,
            new PromptPool(0.1, 10),
            null,
            new PolicyTrainerStatus())) {
      feed.drain(Duration.ofSeconds(30));
      h.produceTranscripts(2100, 3);
      h.publishRewardModel(1, ModelStatus.LIVE, "file:///rm", "0".repeat(64), 0);

      int first = feed.poll(Duration.ofSeconds(10));
      assertTrue(first > 0 && first <= 2000, "one poll reads at most max.poll.records: " + first);
      int rest = feed.drain(Duration.ofSeconds(30));
      assertEquals(2101, first + rest, "every transcript and the reward version, once");
      assertEquals(1L, rewards.latestAccepted().orElseThrow().getVersion());
      assertEquals(0, feed.drain(Duration.ofSeconds(30)), "nothing new: nothing read");
    }
  }
}
