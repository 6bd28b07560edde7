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
    assertEquals(true, fell.qualityFell());
    assertEquals(
        ModelStatus.LIVE,
        PromotionGate.judge(eval(0.7, 0.8, 3), 12, 0.15, true).status(),
        "within tolerance");
    assertEquals(
        ModelStatus.REJECTED, PromotionGate.judge(eval(Double.NaN, 0.8, 3), 12, 0, true).status());
  }

  @Test
  void dpoNeedsHeldOutPreferenceAccuracyAboveTheBasesHalfAndTheKlWithinTheBound() {
    assertEquals(ModelStatus.LIVE, PromotionGate.judgeDpo(3, 0.56, 12, true).status());
    assertEquals(ModelStatus.CANDIDATE, PromotionGate.judgeDpo(3, 0.56, 12, false).status());
    PromotionGate.Verdict chance = PromotionGate.judgeDpo(3, 0.5, 12, true);
    assertEquals(ModelStatus.REJECTED, chance.status(), "the base itself scores 0.5: not above");
    assertEquals(true, chance.qualityFell());
    assertEquals("held-out preference accuracy not above the base's", chance.reason());
    PromotionGate.Verdict kl = PromotionGate.judgeDpo(12.5, 0.9, 12, true);
    assertEquals(ModelStatus.REJECTED, kl.status());
    assertEquals(true, kl.klExceeded());
    assertEquals(false, kl.qualityFell());
    assertEquals(
        ModelStatus.REJECTED,
        PromotionGate.judgeDpo(3, Double.NaN, 12, true).status(),
        "no held-out groups: nothing to judge by");
    assertEquals(ModelStatus.REJECTED, PromotionGate.judgeDpo(Double.NaN, 0.9, 12, true).status());
  }
}
