package dev.flywheel.rollout;

import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutFinishReason;
import dev.flywheel.events.RolloutPrompt;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.RolloutSample;
import dev.flywheel.model.Generation;
import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.RewardModelScorer;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Answers one request: loads (or finds loaded) the policy snapshot and the reward model it names,
 * SHA-256 verified, samples K responses of every prompt and scores them ({@link GroupRollout}, the
 * code the policy trainer's own loop runs), and packs the batch.
 */
final class RolloutAnswerer implements RolloutWorker.Answerer {

  private final ModelCache models;
  private final String workerId;

  RolloutAnswerer(ModelCache models, String workerId) {
    this.models = models;
    this.workerId = workerId;
  }

  /**
   * @throws IOException when a model cannot be loaded (missing, outside the root, wrong SHA-256)
   * @throws IllegalArgumentException when the request itself is invalid (field named)
   */
  @Override
  public RolloutBatch answer(RolloutRequest request) throws IOException {
    validate(request);
    long t0 = System.nanoTime();
    LoadedModel policy =
        models.get(request.getPolicyArtifactUri(), request.getPolicyArtifactSha256());
    LoadedModel reward =
        models.get(request.getRewardArtifactUri(), request.getRewardArtifactSha256());
    long loadNanos = System.nanoTime() - t0;
    List<int[]> prompts = new ArrayList<>(request.getPrompts().size());
    for (RolloutPrompt p : request.getPrompts()) {
      prompts.add(p.getTokens().stream().mapToInt(Integer::intValue).toArray());
    }
    GroupRollout rollout =
        GroupRollout.sample(
            policy.policy(),
            new RewardModelScorer(
                reward.reward(), request.getRewardOffset(), request.getRewardScale()),
            prompts,
            request.getSamplesPerPrompt(),
            request.getSampling().getMaxTokens(),
            request.getSampling().getSeed());
    int k = request.getSamplesPerPrompt();
    List<RolloutSample> samples = new ArrayList<>(rollout.generations().size());
    for (int row = 0; row < rollout.generations().size(); row++) {
      Generation g = rollout.generations().get(row);
      List<Integer> tokens = new ArrayList<>(g.tokens().length);
      List<Float> logProbs = new ArrayList<>(g.tokens().length);
      for (int i = 0; i < g.tokens().length; i++) {
        tokens.add(g.tokens()[i]);
        logProbs.add(g.logProbs()[i]);
      }
      samples.add(
          new RolloutSample(
              row / k,
              tokens,
              logProbs,
              g.finishReason() == Generation.FinishReason.STOP
                  ? RolloutFinishReason.STOP
                  : RolloutFinishReason.LENGTH,
              rollout.scores()[row]));
    }
    return RolloutBatch.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setRequestId(request.getRequestId())
        .setEventTime(Instant.now())
        .setLearnerId(request.getLearnerId())
        .setPolicyVersion(request.getPolicyVersion())
        .setLearnerStep(request.getLearnerStep())
        .setPolicyArtifactSha256(policy.sha256())
        .setRewardModelVersion(request.getRewardModelVersion())
        .setWorkerId(workerId)
        .setPrompts(request.getPrompts())
        .setSamples(samples)
        .setLoadMillis(loadNanos / 1_000_000)
        .setGenerationMillis(rollout.generationNanos() / 1_000_000)
        .setScoringMillis(rollout.scoringNanos() / 1_000_000)
        .setGeneratedTokens(rollout.generatedTokens())
        .build();
  }

  /** Refuses what no worker could answer, naming the field. */
  static void validate(RolloutRequest request) {
    if (request.getPrompts().isEmpty()) {
      throw new IllegalArgumentException("prompts: empty");
    }
    for (int i = 0; i < request.getPrompts().size(); i++) {
      if (request.getPrompts().get(i).getTokens().isEmpty()) {
        throw new IllegalArgumentException("prompts[" + i + "].tokens: empty");
      }
    }
    if (request.getSamplesPerPrompt() < 1) {
      throw new IllegalArgumentException(
          "samplesPerPrompt: must be >= 1, was " + request.getSamplesPerPrompt());
    }
    if (request.getSampling().getMaxTokens() < 1) {
      throw new IllegalArgumentException(
          "sampling.maxTokens: must be >= 1, was " + request.getSampling().getMaxTokens());
    }
    if (request.getSampling().getSeed() == null) {
      throw new IllegalArgumentException(
          "sampling.seed: required (a re-issue must sample the same)");
    }
    if (request.getSampling().getTemperature() != 1.0) {
      throw new IllegalArgumentException(
          "sampling.temperature: rollouts sample at 1 (the behaviour policy is the policy), was "
              + request.getSampling().getTemperature());
    }
    if (!(request.getRewardScale() > 0) || !Double.isFinite(request.getRewardScale())) {
      throw new IllegalArgumentException(
          "rewardScale: must be positive and finite, was " + request.getRewardScale());
    }
  }
}
