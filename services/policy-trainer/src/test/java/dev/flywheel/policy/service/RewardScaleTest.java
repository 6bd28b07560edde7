package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.train.PpoConfig;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which scale an RL round puts reward-model scores on ({@code ppo.score-normalization}). */
class RewardScaleTest {

  private static RewardModelVersion version(Map<String, Double> metrics) {
    return RewardModelVersion.newBuilder()
        .setEventId("rm-1")
        .setEventTime(Instant.EPOCH)
        .setVersion(1)
        .setStatus(ModelStatus.LIVE)
        .setCreatedAt(Instant.EPOCH)
        .setArtifactUri("file:///rm")
        .setArtifactSha256("0".repeat(64))
        .setRewardOffset(0.5)
        .setMetrics(metrics)
        .setTrainingData(List.of())
        .build();
  }

  private static PpoConfig normalization(PpoConfig.ScoreNormalization mode) {
    PpoConfig c = new PpoConfig();
    c.setScoreNormalization(mode);
    return c;
  }

  @Test
  void rewardModelModeUsesTheVersionsPublishedScale() {
    assertEquals(
        0.3,
        RlRound.rewardScale(
            normalization(PpoConfig.ScoreNormalization.REWARD_MODEL),
            version(Map.of("reward_scale", 0.3, "eval_accuracy", 0.6))));
  }

  @Test
  void otherModesScoreOnTheRawScale() {
    RewardModelVersion rm = version(Map.of("reward_scale", 0.3));
    for (PpoConfig.ScoreNormalization mode :
        List.of(
            PpoConfig.ScoreNormalization.NONE,
            PpoConfig.ScoreNormalization.SCALE,
            PpoConfig.ScoreNormalization.NORMALIZE)) {
      assertEquals(1.0, RlRound.rewardScale(normalization(mode), rm), mode.name());
    }
  }

  @Test
  void aVersionWithoutAUsableScaleIsUsedUnscaled() {
    PpoConfig c = normalization(PpoConfig.ScoreNormalization.REWARD_MODEL);
    assertEquals(1.0, RlRound.rewardScale(c, version(Map.of())), "published before the scale");
    for (double bad : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
      Map<String, Double> metrics = new HashMap<>();
      metrics.put("reward_scale", bad);
      assertEquals(1.0, RlRound.rewardScale(c, version(metrics)), "scale " + bad);
    }
  }
}
