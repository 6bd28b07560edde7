package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.policy.train.PolicyEvaluator;
import org.junit.jupiter.api.Test;

class PromotionGateTest {

  static PolicyEvaluator.Result eval(double reward, double previousReward, double kl) {
    return new PolicyEvaluator.Result(
        reward, previousReward, 0, 0.5, 0.5, kl, 4, 8, Double.NaN, Double.NaN);
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
  void withAnIntervalOnlyARewardShownToFallRejects() {
    // mean change -0.019 (the end-to-end run's rejected version), interval straddling 0
    PolicyEvaluator.Result noisy =
        new PolicyEvaluator.Result(0.125, 0.144, 0.144, 0.43, 0.43, 0.46, 32, 128, -0.08, 0.04);
    assertEquals(ModelStatus.LIVE, PromotionGate.judge(noisy, 12, 0, true).status());
    PolicyEvaluator.Result fell =
        new PolicyEvaluator.Result(0.05, 0.144, 0.144, 0.3, 0.3, 0.46, 32, 128, -0.15, -0.04);
    PromotionGate.Verdict verdict = PromotionGate.judge(fell, 12, 0, true);
    assertEquals(ModelStatus.REJECTED, verdict.status());
    assertEquals("held-out reward shown to fall", verdict.reason());
    assertEquals(
        ModelStatus.LIVE,
        PromotionGate.judge(fell, 12, 0.05, true).status(),
        "the interval's upper end within the tolerance");
    assertEquals(
        "held-out reward fell",
        PromotionGate.judge(eval(0.7, 0.8, 3), 12, 0, true).reason(),
        "without an interval: the point rule");
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
