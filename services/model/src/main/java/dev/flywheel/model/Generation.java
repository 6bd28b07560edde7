package dev.flywheel.model;

import java.util.Arrays;

/**
 * What {@link Sampler} produced for one prompt.
 *
 * @param tokens generated token ids, excluding the prompt; ends with EOS when {@code finishReason}
 *     is {@link FinishReason#STOP}
 * @param logProbs for each generated token, log pi(token | prompt, earlier tokens) under the policy
 *     itself: log-softmax of the raw logits (temperature 1, no top-k/top-p), which is the log
 *     pi(a|s) PPO's ratio needs, independent of the sampling settings
 * @param finishReason why generation ended
 */
public record Generation(int[] tokens, float[] logProbs, FinishReason finishReason) {

  public enum FinishReason {
    /** The row emitted EOS. */
    STOP,
    /** maxNewTokens or the context length was reached first. */
    LENGTH
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Generation g
        && Arrays.equals(tokens, g.tokens)
        && Arrays.equals(logProbs, g.logProbs)
        && finishReason == g.finishReason;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(tokens) * 31 + finishReason.hashCode();
  }

  @Override
  public String toString() {
    return "Generation[tokens=" + Arrays.toString(tokens) + ", finishReason=" + finishReason + "]";
  }
}
