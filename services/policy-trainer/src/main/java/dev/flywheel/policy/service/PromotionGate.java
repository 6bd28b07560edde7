package dev.flywheel.policy.service;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.policy.train.PolicyEvaluator;

/**
 * The status a PPO policy is published with. REJECTED when its held-out KL to the SFT reference
 * exceeds {@code maxEvalKl}, or when its held-out reward is below the base policy's (same prompts,
 * same reward model, same seeds) by more than {@code rewardDropTolerance}; otherwise LIVE with
 * auto-promote, else CANDIDATE. A non-finite KL or reward (nothing evaluated) rejects.
 */
final class PromotionGate {

  record Verdict(ModelStatus status, boolean klExceeded, boolean rewardFell) {
    String reason() {
      if (status != ModelStatus.REJECTED) {
        return "passed";
      }
      return (klExceeded ? "held-out KL over the bound" : "")
          + (klExceeded && rewardFell ? ", " : "")
          + (rewardFell ? "held-out reward fell" : "");
    }
  }

  private PromotionGate() {}

  static Verdict judge(
      PolicyEvaluator.Result eval,
      double maxEvalKl,
      double rewardDropTolerance,
      boolean autoPromote) {
    boolean klExceeded = !(eval.kl() <= maxEvalKl);
    boolean rewardFell = !(eval.meanReward() >= eval.meanRewardPrevious() - rewardDropTolerance);
    ModelStatus status =
        klExceeded || rewardFell
            ? ModelStatus.REJECTED
            : autoPromote ? ModelStatus.LIVE : ModelStatus.CANDIDATE;
    return new Verdict(status, klExceeded, rewardFell);
  }
}
