package dev.flywheel.model;

import java.util.Arrays;

/**
 * A supervised fine-tuning example: a prompt and the response the model should learn to produce.
 *
 * <p>The loss covers the response tokens only (which end with EOS, so the model learns to stop),
 * never the prompt: see {@link #lossMask()} and {@link SftLoss}.
 *
 * @param promptTokens chat-formatted context ending with the ASSISTANT marker
 * @param responseTokens the response bytes followed by EOS (unless truncated by {@link #fitTo})
 */
public record SftExample(int[] promptTokens, int[] responseTokens) {

  /** Prompt followed by response: the sequence fed to the model. */
  public int[] tokens() {
    int[] all = Arrays.copyOf(promptTokens, promptTokens.length + responseTokens.length);
    System.arraycopy(responseTokens, 0, all, promptTokens.length, responseTokens.length);
    return all;
  }

  /**
   * 1 at response positions (including EOS), 0 at prompt positions; aligned with {@link #tokens()}.
   */
  public int[] lossMask() {
    int[] mask = new int[promptTokens.length + responseTokens.length];
    Arrays.fill(mask, promptTokens.length, mask.length, 1);
    return mask;
  }

  public int length() {
    return promptTokens.length + responseTokens.length;
  }

  /**
   * Shortens the example to at most {@code maxLength} tokens: first drops the oldest prompt tokens
   * (keeping at least the last one, the ASSISTANT marker), then cuts the end of the response.
   */
  public SftExample fitTo(int maxLength) {
    if (length() <= maxLength) {
      return this;
    }
    int keepPrompt = Math.max(1, Math.min(promptTokens.length, maxLength - responseTokens.length));
    int keepResponse = Math.max(0, maxLength - keepPrompt);
    return new SftExample(
        Arrays.copyOfRange(promptTokens, promptTokens.length - keepPrompt, promptTokens.length),
        Arrays.copyOf(responseTokens, Math.min(keepResponse, responseTokens.length)));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SftExample other
        && Arrays.equals(promptTokens, other.promptTokens)
        && Arrays.equals(responseTokens, other.responseTokens);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(promptTokens) + Arrays.hashCode(responseTokens);
  }

  @Override
  public String toString() {
    return "SftExample[prompt="
        + promptTokens.length
        + " tokens, response="
        + responseTokens.length
        + " tokens]";
  }
}
