package dev.flywheel.modelregistry.state;

import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The current (latest) event of one model version, of either kind, plus what the registry observed
 * about it: when it was first seen and the status transitions it went through.
 *
 * @param kind policy or reward
 * @param latest the latest {@link PolicyVersion} or {@link RewardModelVersion} event for the
 *     version
 * @param offset offset of {@code latest} in its topic
 * @param firstSeen event time of the first record seen for this version
 * @param history status transitions, oldest first (only those still present in the compacted topic)
 */
public record VersionEntry(
    ModelKind kind, Object latest, long offset, Instant firstSeen, List<StatusChange> history) {

  /** One status the version was published with, and when. */
  public record StatusChange(ModelStatus status, Instant eventTime, long offset) {}

  public long version() {
    return latest instanceof PolicyVersion p
        ? p.getVersion()
        : ((RewardModelVersion) latest).getVersion();
  }

  public ModelStatus status() {
    return latest instanceof PolicyVersion p
        ? p.getStatus()
        : ((RewardModelVersion) latest).getStatus();
  }

  public Instant eventTime() {
    return latest instanceof PolicyVersion p
        ? p.getEventTime()
        : ((RewardModelVersion) latest).getEventTime();
  }

  public Instant createdAt() {
    return latest instanceof PolicyVersion p
        ? p.getCreatedAt()
        : ((RewardModelVersion) latest).getCreatedAt();
  }

  public String artifactUri() {
    return latest instanceof PolicyVersion p
        ? p.getArtifactUri()
        : ((RewardModelVersion) latest).getArtifactUri();
  }

  public String artifactSha256() {
    return latest instanceof PolicyVersion p
        ? p.getArtifactSha256()
        : ((RewardModelVersion) latest).getArtifactSha256();
  }

  public Map<String, Double> metrics() {
    return latest instanceof PolicyVersion p
        ? p.getMetrics()
        : ((RewardModelVersion) latest).getMetrics();
  }

  public Map<String, String> hyperparameters() {
    return latest instanceof PolicyVersion p
        ? p.getHyperparameters()
        : ((RewardModelVersion) latest).getHyperparameters();
  }

  public List<OffsetRange> trainingData() {
    return latest instanceof PolicyVersion p
        ? p.getTrainingData()
        : ((RewardModelVersion) latest).getTrainingData();
  }

  /** Policy only: SFT or PPO; null for reward models. */
  public PolicyStage stage() {
    return latest instanceof PolicyVersion p ? p.getStage() : null;
  }

  /** Policy only: the policies it was trained from; empty for reward models. */
  public List<Long> parentVersions() {
    return latest instanceof PolicyVersion p ? p.getParentVersions() : List.of();
  }

  /** Reward only: the reward model it was warm-started from. */
  public Long parentVersion() {
    return latest instanceof RewardModelVersion r ? r.getParentVersion() : null;
  }

  /** Policy only: the reward model it optimised. */
  public Long rewardModelVersion() {
    return latest instanceof PolicyVersion p ? p.getRewardModelVersion() : null;
  }

  /** Reward only: the bias subtracted from raw scores. */
  public Double rewardOffset() {
    return latest instanceof RewardModelVersion r ? r.getRewardOffset() : null;
  }
}
