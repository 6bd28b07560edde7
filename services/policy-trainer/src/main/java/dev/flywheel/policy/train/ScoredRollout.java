package dev.flywheel.policy.train;

import dev.flywheel.model.Generation;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The rollout phase every RL algorithm here shares: K samples for each prompt from π at temperature
 * 1 (rows {@code g·K .. g·K+K−1} are the samples of prompt g), each scored by the reward function,
 * minus {@code missing-eos-penalty} when the response was cut off before EOS.
 *
 * @param scores one per row, before any normalisation
 * @param samplesPerPrompt K
 */
public record ScoredRollout(Rollout rollout, float[] scores, int samplesPerPrompt) {

  /**
   * Samples the first {@code prompts.size() / K} prompts (at least one), K times each.
   *
   * @param prompts prompts already fitted to the context ({@code PpoTrainer.fitPrompt})
   */
  public static ScoredRollout sample(
      Sampler sampler,
      RewardFunction reward,
      List<int[]> prompts,
      int k,
      PpoConfig config,
      long seed) {
    List<int[]> repeated = new ArrayList<>();
    for (int[] prompt : prompts.subList(0, Math.max(1, prompts.size() / k))) {
      for (int i = 0; i < k; i++) {
        repeated.add(prompt);
      }
    }
    List<Generation> generations =
        sampler.generate(repeated, SamplingConfig.ppoRollout(config.getMaxNewTokens(), seed));
    Rollout rollout = Rollout.of(repeated, generations);
    float[] s = reward.score(rollout.prompts(), rollout.responses());
    if (s.length != rollout.batchSize()) {
      throw new IllegalStateException(
          "reward function returned "
              + s.length
              + " scores for "
              + rollout.batchSize()
              + " responses");
    }
    for (int r = 0; r < s.length; r++) {
      if (!rollout.stopped(r)) {
        s[r] -= config.getMissingEosPenalty();
      }
    }
    return new ScoredRollout(rollout, s, k);
  }

  /**
   * A prompt fitted into the room a context leaves for a response of {@code maxNewTokens} (keeps
   * its last tokens).
   */
  public static int[] fitPrompt(int[] prompt, int contextLength, int maxNewTokens) {
    int room = contextLength - maxNewTokens;
    return prompt.length <= room
        ? prompt
        : Arrays.copyOfRange(prompt, prompt.length - room, prompt.length);
  }

  /** Number of prompts (groups). */
  public int groups() {
    return rollout.batchSize() / samplesPerPrompt;
  }
}
