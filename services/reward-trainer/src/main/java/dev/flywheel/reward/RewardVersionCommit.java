package dev.flywheel.reward;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.RewardModel;
import dev.flywheel.trainerkit.AcknowledgedSends;
import dev.flywheel.trainerkit.OffsetRanges;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Makes a trained round a version: the artifact, then the version events ({@code CANDIDATE} then
 * {@code LIVE} when the gate accepted it, else {@code REJECTED}) and the round's input offsets in
 * one Kafka transaction ({@link VersionPublisher}), so a crash leaves either both or neither; the
 * ledger then records the last event.
 */
final class RewardVersionCommit {

  private final RewardTrainerConfig config;
  private final RewardArtifacts artifacts;
  private final VersionPublisher<RewardModelVersion> publisher;
  private final Supplier<VersionLedger<RewardModelVersion>> ledger;
  private final AcknowledgedSends<String, DeadLetter> deadLetterSends;
  private final Runnable checkRunning;

  /**
   * @param ledger the trainer's current ledger (a supplier: the trainer re-reads it every round)
   * @param deadLetterSends the dead letters of the round, awaited before its offsets commit
   * @param checkRunning throws when the trainer was asked to stop (checked before publishing)
   */
  RewardVersionCommit(
      RewardTrainerConfig config,
      RewardArtifacts artifacts,
      VersionPublisher<RewardModelVersion> publisher,
      Supplier<VersionLedger<RewardModelVersion>> ledger,
      AcknowledgedSends<String, DeadLetter> deadLetterSends,
      Runnable checkRunning) {
    this.config = config;
    this.artifacts = artifacts;
    this.publisher = publisher;
    this.ledger = ledger;
    this.deadLetterSends = deadLetterSends;
    this.checkRunning = checkRunning;
  }

  /**
   * Saves {@code model} as version {@code version}'s artifact and publishes the version with {@code
   * metrics} and {@code lineage}, committing the input offsets {@code until} in the same
   * transaction.
   */
  void commit(
      long version,
      Optional<RewardModelVersion> parent,
      RewardModel model,
      double rewardOffset,
      Map<String, Double> metrics,
      boolean accepted,
      Map<TopicPartition, Long> until,
      OffsetRanges lineage)
      throws IOException {
    RewardArtifacts.Artifact artifact = artifacts.save(model, version, parent, rewardOffset);
    Instant now = Instant.now();
    RewardModelVersion.Builder event =
        RewardModelVersion.newBuilder()
            .setEventTime(now)
            .setVersion(version)
            .setParentVersion(parent.map(RewardModelVersion::getVersion).orElse(null))
            .setCreatedAt(now)
            .setArtifactUri(artifact.uri().toString())
            .setArtifactSha256(artifact.sha256())
            .setRewardOffset(rewardOffset)
            .setMetrics(metrics)
            .setHyperparameters(config.asMap())
            .setTrainingData(lineage.toList());
    List<RewardModelVersion> events =
        accepted
            ? List.of(
                event
                    .setEventId(UUID.randomUUID().toString())
                    .setStatus(ModelStatus.CANDIDATE)
                    .build(),
                event.setEventId(UUID.randomUUID().toString()).setStatus(ModelStatus.LIVE).build())
            : List.of(
                event
                    .setEventId(UUID.randomUUID().toString())
                    .setStatus(ModelStatus.REJECTED)
                    .build());
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    until.forEach((tp, o) -> offsets.put(tp, new OffsetAndMetadata(o, "reward v" + version)));
    checkRunning.run();
    // the round's dead letters acknowledged before its offsets commit: a lost one fails the round,
    // and the input is read (and dead-lettered) again from the last commit
    deadLetterSends.awaitAcknowledged();
    try {
      publisher.publish(events, offsets, new ConsumerGroupMetadata(config.getGroupId()));
    } catch (VersionPublisher.PublishException e) {
      throw new IllegalStateException(
          "publishing version " + version + " failed: " + e.getMessage(), e);
    }
    RewardModelVersion last = events.get(events.size() - 1);
    ledger.get().apply(last);
  }
}
