package dev.flywheel.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A reward model as a {@link RewardFunction}: the score of prompt + response + EOS (the EOS is
 * added when the response was cut before it, so the score is always read at an end-of-turn token,
 * as the reward model was trained), minus the version's {@code rewardOffset} (InstructGPT §3.5: the
 * offset makes reference responses score 0 on average), divided by a scale (1, or the version's
 * {@code reward_scale}, as the policy trainer's {@code score-normalization: reward-model} and the
 * rollout workers score). Rows longer than the reward model's context keep their last tokens.
 * Scored in inference mode, in chunks.
 */
public final class RewardModelScorer implements RewardFunction {

  private static final int CHUNK = 32;

  private final RewardModel model;
  private final double rewardOffset;
  private final double scale;

  public RewardModelScorer(RewardModel model, double rewardOffset) {
    this(model, rewardOffset, 1.0);
  }

  /**
   * @param scale what the offset-corrected score is divided by; positive and finite
   */
  public RewardModelScorer(RewardModel model, double rewardOffset, double scale) {
    if (!(scale > 0) || !Double.isFinite(scale)) {
      throw new IllegalArgumentException("reward scale must be positive and finite: " + scale);
    }
    this.model = model;
    this.rewardOffset = rewardOffset;
    this.scale = scale;
  }

  public RewardModel model() {
    return model;
  }

  public double rewardOffset() {
    return rewardOffset;
  }

  @Override
  public float[] score(List<int[]> prompts, List<int[]> responses) {
    int context = model.config().contextLength();
    float[] out = new float[prompts.size()];
    for (int from = 0; from < prompts.size(); from += CHUNK) {
      int to = Math.min(prompts.size(), from + CHUNK);
      List<int[]> sequences = new ArrayList<>(to - from);
      for (int i = from; i < to; i++) {
        sequences.add(sequence(prompts.get(i), responses.get(i), context));
      }
      float[] scores = model.score(sequences);
      for (int i = 0; i < scores.length; i++) {
        out[from + i] = (float) ((scores[i] - rewardOffset) / scale);
      }
    }
    return out;
  }

  /**
   * The token sequence the reward model scores: prompt + response, EOS appended when the response
   * lacks it, cut to the last {@code context} tokens.
   */
  public static int[] sequence(int[] prompt, int[] response, int context) {
    boolean hasEos = response.length > 0 && response[response.length - 1] == ByteTokenizer.EOS;
    int length = prompt.length + response.length + (hasEos ? 0 : 1);
    int[] all = Arrays.copyOf(prompt, length);
    System.arraycopy(response, 0, all, prompt.length, response.length);
    if (!hasEos) {
      all[length - 1] = ByteTokenizer.EOS;
    }
    return all.length <= context ? all : Arrays.copyOfRange(all, all.length - context, all.length);
  }
}
