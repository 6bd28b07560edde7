package dev.flywheel.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The rollout phase of an RL step, written once for the policy trainer's own loop and for the
 * rollout workers: K samples of every prompt from the policy at temperature 1 (rows {@code g·K ..
 * g·K+K−1} are prompt g's), each scored by the reward function. The same policy weights, prompts, K
 * and seed give the same samples wherever it runs (same engine and threads).
 *
 * @param prompts one row per sample (each prompt repeated K times)
 * @param generations the samples with their behaviour log-probabilities
 * @param scores the reward function's score of each sample (no penalty applied)
 * @param generationNanos time spent sampling
 * @param scoringNanos time spent scoring
 */
public record GroupRollout(
    List<int[]> prompts,
    List<Generation> generations,
    float[] scores,
    long generationNanos,
    long scoringNanos) {

  /**
   * Samples {@code k} responses of each prompt with {@link SamplingConfig#ppoRollout} and scores
   * them.
   *
   * @param prompts distinct prompts, already fitted to the context
   */
  public static GroupRollout sample(
      PolicyModel policy,
      RewardFunction reward,
      List<int[]> prompts,
      int k,
      int maxNewTokens,
      long seed) {
    if (k < 1) {
      throw new IllegalArgumentException("samples per prompt must be >= 1: " + k);
    }
    List<int[]> repeated = new ArrayList<>(prompts.size() * k);
    for (int[] prompt : prompts) {
      for (int i = 0; i < k; i++) {
        repeated.add(prompt);
      }
    }
    long t0 = System.nanoTime();
    List<Generation> generations =
        new Sampler(policy).generate(repeated, SamplingConfig.ppoRollout(maxNewTokens, seed));
    long t1 = System.nanoTime();
    float[] scores = reward.score(repeated, generations.stream().map(Generation::tokens).toList());
    long t2 = System.nanoTime();
    if (scores.length != repeated.size()) {
      throw new IllegalStateException(
          "reward function returned "
              + scores.length
              + " scores for "
              + repeated.size()
              + " responses");
    }
    return new GroupRollout(repeated, generations, scores, t1 - t0, t2 - t1);
  }

  /** Response tokens generated. */
  public long generatedTokens() {
    long n = 0;
    for (Generation g : generations) {
      n += g.tokens().length;
    }
    return n;
  }
}
