package dev.flywheel.modelevents;

import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutFinishReason;
import dev.flywheel.events.RolloutPrompt;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.RolloutSample;
import dev.flywheel.model.Generation;
import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * Rollouts between the event contracts ({@code RolloutRequest}, {@code RolloutBatch}) and the
 * model's types: token lists ↔ {@code int[]}, a {@link GroupRollout} ↔ {@link RolloutSample}s. The
 * rollout workers write with it and the policy trainer reads with it.
 */
public final class RolloutEvents {

  private RolloutEvents() {}

  /**
   * Prompts as the contract carries them; the key is a hash of the tokens (unique enough to read).
   */
  public static List<RolloutPrompt> toPrompts(List<int[]> prompts) {
    List<RolloutPrompt> out = new ArrayList<>(prompts.size());
    for (int[] p : prompts) {
      out.add(new RolloutPrompt(Integer.toHexString(Arrays.hashCode(p)), boxed(p)));
    }
    return out;
  }

  /** The prompts' token ids. */
  public static List<int[]> fromPrompts(List<RolloutPrompt> prompts) {
    return prompts.stream().map(p -> unboxed(p.getTokens())).toList();
  }

  /**
   * One sample per row of {@code rollout} (rows g·K .. g·K+K−1 are prompt g's): tokens, behaviour
   * log-probs, finish reason, score.
   */
  public static List<RolloutSample> toSamples(GroupRollout rollout, int samplesPerPrompt) {
    List<RolloutSample> out = new ArrayList<>(rollout.generations().size());
    for (int row = 0; row < rollout.generations().size(); row++) {
      Generation g = rollout.generations().get(row);
      List<Float> logProbs = new ArrayList<>(g.logProbs().length);
      for (float lp : g.logProbs()) {
        logProbs.add(lp);
      }
      out.add(
          new RolloutSample(
              row / samplesPerPrompt,
              boxed(g.tokens()),
              logProbs,
              g.finishReason() == Generation.FinishReason.STOP
                  ? RolloutFinishReason.STOP
                  : RolloutFinishReason.LENGTH,
              rollout.scores()[row]));
    }
    return out;
  }

  /**
   * The answer to {@code request}: K samples of each of its prompts from {@code policy}, scored by
   * {@code reward} with the request's offset and scale ({@link GroupRollout}, the code the policy
   * trainer runs when it samples itself), as the batch a rollout worker publishes.
   *
   * @param policySha256 the SHA-256 of the snapshot actually loaded
   * @param loadNanos time spent loading the models for it
   */
  public static RolloutBatch answer(
      RolloutRequest request,
      PolicyModel policy,
      String policySha256,
      RewardModel reward,
      String workerId,
      long loadNanos) {
    GroupRollout rollout =
        GroupRollout.sample(
            policy,
            new RewardModelScorer(reward, request.getRewardOffset(), request.getRewardScale()),
            fromPrompts(request.getPrompts()),
            request.getSamplesPerPrompt(),
            request.getSampling().getMaxTokens(),
            request.getSampling().getSeed());
    return RolloutBatch.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setRequestId(request.getRequestId())
        .setEventTime(Instant.now())
        .setLearnerId(request.getLearnerId())
        .setPolicyVersion(request.getPolicyVersion())
        .setLearnerStep(request.getLearnerStep())
        .setPolicyArtifactSha256(policySha256)
        .setRewardModelVersion(request.getRewardModelVersion())
        .setWorkerId(workerId)
        .setPrompts(request.getPrompts())
        .setSamples(toSamples(rollout, request.getSamplesPerPrompt()))
        .setLoadMillis(loadNanos / 1_000_000)
        .setGenerationMillis(rollout.generationNanos() / 1_000_000)
        .setScoringMillis(rollout.scoringNanos() / 1_000_000)
        .setGeneratedTokens(rollout.generatedTokens())
        .build();
  }

  /** A sample's behaviour log-probs. */
  public static float[] logProbs(RolloutSample sample) {
    float[] out = new float[sample.getLogProbs().size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = sample.getLogProbs().get(i);
    }
    return out;
  }

  public static List<Integer> boxed(int[] tokens) {
    List<Integer> out = new ArrayList<>(tokens.length);
    for (int t : tokens) {
      out.add(t);
    }
    return out;
  }

  public static int[] unboxed(List<Integer> tokens) {
    return tokens.stream().mapToInt(Integer::intValue).toArray();
  }
}
