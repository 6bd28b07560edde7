package dev.flywheel.serving.engine;

import java.util.List;

/**
 * One candidate to generate: one row of a decode batch.
 *
 * @param prompt the prompt tokens (BOS ... ASSISTANT)
 * @param temperature 0 means greedy
 * @param topP nucleus mass in [0, 1]; 0 keeps only the most likely token (greedy)
 * @param topK 0 disables it
 * @param maxNewTokens most tokens to sample, the end-of-turn token included
 * @param seed seed of the row's random stream
 * @param stop stop sequences: generation ends before the first occurrence of any of them
 */
public record RowSpec(
    int[] prompt,
    float temperature,
    float topP,
    int topK,
    int maxNewTokens,
    long seed,
    List<String> stop) {

  public RowSpec {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("empty prompt");
    }
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("maxNewTokens must be >= 1");
    }
    if (!(temperature >= 0)
        || Float.isInfinite(temperature)
        || !(topP >= 0 && topP <= 1)
        || topK < 0) {
      throw new IllegalArgumentException("invalid sampling settings");
    }
    stop = List.copyOf(stop);
  }
}
