package dev.flywheel.model;

/**
 * How {@link Sampler} picks tokens.
 *
 * <p>Temperature, top-k and top-p shape the distribution tokens are drawn from; they do not change
 * the log-probabilities {@link Sampler} returns, which are always the model's own (see {@link
 * Generation#logProbs()}). For PPO rollouts use {@link #ppoRollout} (temperature 1, no truncation),
 * so that the behaviour policy is the policy being optimised.
 *
 * @param temperature divides the logits before sampling; 0 means greedy (argmax, ties to the lowest
 *     id)
 * @param topP nucleus sampling (Holtzman et al. 2020): keep the smallest set of most likely tokens
 *     whose probability reaches topP; 1 disables it
 * @param topK keep only the k most likely tokens; 0 disables it (applied before topP, as in HF
 *     transformers)
 * @param maxNewTokens upper bound on generated tokens per row (also capped by the context length)
 * @param stopOnEos end a row when it emits {@link ByteTokenizer#EOS} (the EOS is part of the
 *     output)
 * @param seed seeds the per-row random streams, see {@link Sampler#rowSeed}
 * @param useKvCache decode incrementally with a KV cache; false recomputes the whole sequence every
 *     step (same tokens, much slower: for tests and benchmarks)
 */
public record SamplingConfig(
    float temperature,
    float topP,
    int topK,
    int maxNewTokens,
    boolean stopOnEos,
    long seed,
    boolean useKvCache) {

  public SamplingConfig {
    if (!(temperature >= 0) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be >= 0 and finite: " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("topP must be in (0, 1]: " + topP);
    }
    if (topK < 0 || maxNewTokens < 0) {
      throw new IllegalArgumentException("topK and maxNewTokens must be >= 0");
    }
  }

  /** Plain sampling at temperature 1: what PPO rollouts need. */
  public static SamplingConfig ppoRollout(int maxNewTokens, long seed) {
    return new SamplingConfig(1f, 1f, 0, maxNewTokens, true, seed, true);
  }

  /** Greedy decoding. */
  public static SamplingConfig greedy(int maxNewTokens) {
    return new SamplingConfig(0f, 1f, 0, maxNewTokens, true, 0L, true);
  }

  /** Serving defaults: temperature 0.8, top-p 0.95 (no top-k). */
  public static SamplingConfig chat(int maxNewTokens, long seed) {
    return new SamplingConfig(0.8f, 0.95f, 0, maxNewTokens, true, seed, true);
  }

  public SamplingConfig withTemperature(float value) {
    return new SamplingConfig(value, topP, topK, maxNewTokens, stopOnEos, seed, useKvCache);
  }

  public SamplingConfig withTopP(float value) {
    return new SamplingConfig(temperature, value, topK, maxNewTokens, stopOnEos, seed, useKvCache);
  }

  public SamplingConfig withTopK(int value) {
    return new SamplingConfig(temperature, topP, value, maxNewTokens, stopOnEos, seed, useKvCache);
  }

  public SamplingConfig withMaxNewTokens(int value) {
    return new SamplingConfig(temperature, topP, topK, value, stopOnEos, seed, useKvCache);
  }

  public SamplingConfig withStopOnEos(boolean value) {
    return new SamplingConfig(temperature, topP, topK, maxNewTokens, value, seed, useKvCache);
  }

  public SamplingConfig withSeed(long value) {
    return new SamplingConfig(temperature, topP, topK, maxNewTokens, stopOnEos, value, useKvCache);
  }

  public SamplingConfig withKvCache(boolean value) {
    return new SamplingConfig(temperature, topP, topK, maxNewTokens, stopOnEos, seed, value);
  }
}
