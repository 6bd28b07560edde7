package dev.flywheel.model;

import java.util.List;

/**
 * The score of a complete response: what PPO maximises (minus the KL penalty). In the service it is
 * a reward model ({@link RewardModelScorer}); tests plug in rules with a known optimum.
 */
@FunctionalInterface
public interface RewardFunction {

  /**
   * @param prompts chat-formatted prompts ending with the ASSISTANT marker
   * @param responses the sampled responses, ending with EOS unless cut at the length limit
   * @return one score per response
   */
  float[] score(List<int[]> prompts, List<int[]> responses);
}
