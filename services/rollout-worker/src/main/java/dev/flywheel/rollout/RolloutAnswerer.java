package dev.flywheel.rollout;

import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.modelevents.RolloutEvents;
import java.io.IOException;

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
    return RolloutEvents.answer(
        request, policy.policy(), policy.sha256(), reward.reward(), workerId, loadNanos);
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
