package dev.flywheel.policy.service;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.policy.train.PolicyEvaluator;

/**
 * The status a preference-optimised (stage PPO) policy is published with: REJECTED when its
 * held-out KL to its reference exceeds {@code maxEvalKl}, or when its held-out quality is not good
 * enough against the base policy; otherwise LIVE with auto-promote, else CANDIDATE. A non-finite
 * figure (nothing evaluated) rejects.
 *
 * <ul>
 *   <li>RL rounds ({@link #judge}): the quality is the held-out reward, which may fall below the
 *       base policy's (same prompts, reward model and seeds) by at most {@code
 *       rewardDropTolerance}: the upper end of the change's interval when the evaluation has one
 *       ({@code reward-drop-confidence} &gt; 0: rejected only when shown to have fallen), else its
 *       mean.
 *   <li>DPO rounds ({@link #judgeDpo}): the quality is the implicit-reward preference accuracy on
 *       the held-out comparison groups, which must be above the base's. The base is the round's
 *       reference, whose accuracy against itself is 0.5 by construction (every margin is 0, a tie
 *       counts ½): the new policy must order the held-out human pairs better than chance, by its
 *       own log-ratios to the policy it started from.
 * </ul>
 */
final class PromotionGate {

  /**
   * @param qualityFell the RL round's held-out reward fell beyond the tolerance, or the DPO round's
   *     held-out preference accuracy is not above the base's
   */
  record Verdict(ModelStatus status, boolean klExceeded, boolean qualityFell, String quality) {
    String reason() {
      if (status != ModelStatus.REJECTED) {
        return "passed";
      }
      return (klExceeded ? "held-out KL over the bound" : "")
          + (klExceeded && qualityFell ? ", " : "")
          + (qualityFell ? quality : "");
    }
  }

  /** The base's held-out preference accuracy in a DPO round: it is the reference (all ties). */
  static final double DPO_BASE_ACCURACY = 0.5;

  private PromotionGate() {}

  static Verdict judge(
      PolicyEvaluator.Result eval,
      double maxEvalKl,
      double rewardDropTolerance,
      boolean autoPromote) {
    boolean interval = Double.isFinite(eval.rewardChangeHigh());
    double change =
        interval ? eval.rewardChangeHigh() : eval.meanReward() - eval.meanRewardPrevious();
    boolean rewardFell = !(change >= -rewardDropTolerance);
    return verdict(
        eval.kl(),
        maxEvalKl,
        rewardFell,
        interval ? "held-out reward shown to fall" : "held-out reward fell",
        autoPromote);
  }

  /**
   * @param kl held-out KL of the new policy to its reference (nats per sequence)
   * @param accuracy its held-out preference accuracy against the reference (ties ½)
   */
  static Verdict judgeDpo(double kl, double accuracy, double maxEvalKl, boolean autoPromote) {
    boolean notAbove = !(accuracy > DPO_BASE_ACCURACY);
    return verdict(
        kl, maxEvalKl, notAbove, "held-out preference accuracy not above the base's", autoPromote);
  }

  private static Verdict verdict(
      double kl, double maxEvalKl, boolean qualityFell, String quality, boolean autoPromote) {
    boolean klExceeded = !(kl <= maxEvalKl);
    ModelStatus status =
        klExceeded || qualityFell
            ? ModelStatus.REJECTED
            : autoPromote ? ModelStatus.LIVE : ModelStatus.CANDIDATE;
    return new Verdict(status, klExceeded, qualityFell, quality);
  }
}
