package dev.flywheel.trainerkit;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

final class Fixtures {

  private Fixtures() {}

  static KafkaSettings kafka(FlywheelInfra infra) {
    return new KafkaSettings(infra.bootstrapServers(), infra.registryUrl());
  }

  /** A private compacted versions topic configured like the catalogue's. */
  static String versionsTopic(FlywheelInfra infra) {
    String topic = infra.uniqueName("versions");
    infra.createTopic(topic, 1, Topics.REWARD_VERSIONS.topicConfigs());
    return topic;
  }

  static RewardModelVersion version(long version, ModelStatus status) {
    return RewardModelVersion.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(Instant.now())
        .setVersion(version)
        .setParentVersion(version > 1 ? version - 1 : null)
        .setStatus(status)
        .setCreatedAt(Instant.now())
        .setArtifactUri("file:/artifacts/reward/v" + version)
        .setArtifactSha256("00")
        .setMetrics(Map.of("eval_accuracy", 0.5 + version / 100.0))
        .setTrainingData(List.<OffsetRange>of())
        .build();
  }
}
