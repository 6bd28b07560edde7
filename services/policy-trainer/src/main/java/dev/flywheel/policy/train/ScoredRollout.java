package dev.flywheel.policy.train;

import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.Sampler;
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
    GroupRollout sampled =
        GroupRollout.sample(
            sampler.policy(),
            reward,
            prompts.subList(0, Math.max(1, prompts.size() / k)),
            k,
            config.getMaxNewTokens(),
            seed);
    return of(sampled, k, config.getMissingEosPenalty());
  }

  /**
   * A sampled group rollout as training episodes, minus {@code missingEosPenalty} on every sample
   * cut off before EOS.
   */
  public static ScoredRollout of(GroupRollout sampled, int k, double missingEosPenalty) {
    Rollout rollout = Rollout.of(sampled.prompts(), sampled.generations());
    float[] s = sampled.scores().clone();
    for (int r = 0; r < s.length; r++) {
      if (!rollout.stopped(r)) {
        s[r] -= (float) missingEosPenalty;
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

  /** Refuses a {@code max-new-tokens} that leaves no room for a prompt in the policy's context. */
  public static void requireRoom(int maxNewTokens, int contextLength) {
    if (maxNewTokens >= contextLength) {
      throw new IllegalArgumentException(
          "max-new-tokens "
              + maxNewTokens
              + " leaves no room for a prompt in a context of "
              + contextLength);
    }
  }

  /** Number of prompts (groups). */
  public int groups() {
    return rollout.batchSize() / samplesPerPrompt;
  }
}
