package dev.flywheel.policy.service;

import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.IterationStats;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.trainerkit.OffsetRanges;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What an RL version is published with besides its weights: its metrics (the held-out evaluation,
 * the last iteration, the gate), its hyperparameters (every setting and the round's lineage), its
 * parents and its training data (transcripts, demonstrations under the pretraining mix, worker
 * batches).
 */
final class RlVersionDescription {

  private final PolicyTrainerConfig config;
  private final PpoConfig ppoConfig;
  private final RolloutConfig rolloutConfig;
  private final InputFeed feed;

  RlVersionDescription(
      PolicyTrainerConfig config,
      PpoConfig ppoConfig,
      RolloutConfig rolloutConfig,
      InputFeed feed) {
    this.config = config;
    this.ppoConfig = ppoConfig;
    this.rolloutConfig = rolloutConfig;
    this.feed = feed;
  }

  /**
   * The version's metrics, also published as the round's {@code eval} metrics; {@code last} is the
   * last iteration this process trained, null when it trained none.
   */
  Map<String, Double> metrics(
      RlEvaluation.Outcome outcome,
      IterationStats last,
      RlRoundState state,
      RlRoundSetup.Models models,
      int iterations) {
    PromotionGate.Verdict verdict = outcome.verdict();
    Map<String, Double> m = new LinkedHashMap<>(outcome.eval().metrics());
    m.put("eval_on_train_prompts", outcome.onTrainPrompts() ? 1.0 : 0.0);
    if (last != null) {
      m.put("mean_reward", last.meanReward());
      m.put("kl", last.kl());
      m.put("entropy", last.entropy());
      m.put("explained_variance", last.explainedVariance());
    }
    Double first = state.firstMeanReward();
    if (first != null) {
      m.put("first_mean_reward", first);
    }
    m.put("beta", models.trainer().kl().value());
    m.put("iterations", (double) iterations);
    m.put("gate_kl_exceeded", verdict.klExceeded() ? 1.0 : 0.0);
    m.put("gate_reward_fell", verdict.qualityFell() ? 1.0 : 0.0);
    m.values().removeIf(v -> v == null || !Double.isFinite(v));
    return m;
  }

  /** The version's hyperparameters: every setting, and what the round trained against. */
  Map<String, String> hyperparameters(RlRoundState state, RlRoundSetup.Models models) {
    RewardModelVersion rm = state.rewardModel();
    Map<String, String> hp = new LinkedHashMap<>(ppoConfig.toMap());
    hp.putAll(config.toMap());
    hp.putAll(rolloutConfig.toMap());
    hp.put("round_id", state.roundId());
    hp.put("reference_version", String.valueOf(state.referenceVersion()));
    hp.put("base_version", String.valueOf(state.base().getVersion()));
    hp.put("reward_model_sha256", rm.getArtifactSha256());
    hp.put("reward_offset", String.valueOf(rm.getRewardOffset()));
    hp.put(RlRound.REWARD_SCALE, String.valueOf(models.rewardScale()));
    hp.put("value_init", Objects.requireNonNullElse(state.valueInit(), ""));
    hp.put("model", models.policy().config().toJson().replaceAll("\\s+", ""));
    return hp;
  }

  /**
   * The version's training data: the transcripts its prompts came from, the demonstrations of the
   * pretraining mix, and the batches rollout workers sampled ({@code workers}, null when the
   * trainer sampled itself).
   */
  List<OffsetRange> trainingData(
      RlRoundState state, RlRoundSetup.Models models, WorkerRolloutSource workers) {
    OffsetRanges transcripts = new OffsetRanges(config.getTranscriptsTopic());
    state.transcriptRanges().forEach((p, r) -> transcripts.cover(p, r[0], r[1]));
    List<OffsetRange> data = new ArrayList<>(transcripts.toList());
    if (!models.ptx().isEmpty()) {
      OffsetRanges demos = new OffsetRanges(config.getDemonstrationsTopic());
      Map<Integer, Long> firstDemo = feed.firstDemoOffsets();
      feed.demoPositions()
          .forEach(
              (p, until) ->
                  demos.cover(p, Math.min(firstDemo.getOrDefault(p, until), until), until));
      data.addAll(demos.toList());
    }
    if (workers != null) {
      data.addAll(workers.lineage());
    }
    return data;
  }

  /** The version's parents: its base and its reference (once when they are the same). */
  static List<Long> parents(RlRoundState state) {
    return new ArrayList<>(
        new LinkedHashSet<>(List.of(state.base().getVersion(), state.referenceVersion())));
  }
}
