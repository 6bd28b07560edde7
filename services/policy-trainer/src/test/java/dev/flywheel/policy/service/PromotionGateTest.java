package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.policy.train.PolicyEvaluator;
import org.junit.jupiter.api.Test;

class PromotionGateTest {

  static PolicyEvaluator.Result eval(double reward, double previousReward, double kl) {
    return new PolicyEvaluator.Result(reward, previousReward, 0, 0.5, 0.5, kl, 4, 8);
  }

  @Test
  void rejectsOnHeldOutKlOrFallingRewardElsePromotesOrKeepsAsCandidate() {
    assertEquals(ModelStatus.LIVE, PromotionGate.judge(eval(1.0, 0.8, 3), 12, 0, true).status());
    assertEquals(
        ModelStatus.CANDIDATE, PromotionGate.judge(eval(1.0, 0.8, 3), 12, 0, false).status());
    PromotionGate.Verdict kl = PromotionGate.judge(eval(1.0, 0.8, 12.5), 12, 0, true);
    assertEquals(ModelStatus.REJECTED, kl.status());
    assertEquals(true, kl.klExceeded());
    PromotionGate.Verdict fell = PromotionGate.judge(eval(0.7, 0.8, 3), 12, 0, true);
    assertEquals(ModelStatus.REJECTED, fell.status());
    assertEquals(true, fell.rewardFell());
    assertEquals(
        ModelStatus.LIVE,
        PromotionGate.judge(eval(0.7, 0.8, 3), 12, 0.15, true).status(),
        "within tolerance");
    assertEquals(
        ModelStatus.REJECTED, PromotionGate.judge(eval(Double.NaN, 0.8, 3), 12, 0, true).status());
  }
}
