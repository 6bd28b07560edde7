package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RewardEvaluatorTest {

  @Test
  void accuracyAndCalibrationBucketsByMargin() {
    // margins: small ones are coin flips, large ones are right
    List<Double> d = List.of(-0.1, 0.1, -0.2, 0.2, 3.0, 4.0, -5.0, 6.0);
    RewardEvaluator.Result r = new RewardEvaluator(8, 2).summarise(d, 0.5, 2);
    assertEquals(5.0 / 8, r.accuracy(), 1e-12);
    assertEquals(8, r.pairs());
    assertEquals(2, r.calibration().size());
    RewardEvaluator.Bucket small = r.calibration().get(0);
    RewardEvaluator.Bucket large = r.calibration().get(1);
    assertEquals(0.5, small.accuracy(), 1e-12);
    assertEquals(0.75, large.accuracy(), 1e-12);
    assertEquals(0.15, small.meanMargin(), 1e-12);
    assertEquals(4.5, large.meanMargin(), 1e-12);
    double confSmall = (2 * RewardEvaluator.sigmoid(0.1) + 2 * RewardEvaluator.sigmoid(0.2)) / 4;
    double confLarge = (RewardEvaluator.sigmoid(3) + RewardEvaluator.sigmoid(4) + RewardEvaluator.sigmoid(5)
        + RewardEvaluator.sigmoid(6)) / 4;
    assertEquals(confSmall, small.confidence(), 1e-12);
    assertEquals(0.5 * Math.abs(0.5 - confSmall) + 0.5 * Math.abs(0.75 - confLarge), r.ece(), 1e-12);
    Map<String, Double> m = r.metrics("eval_");
    assertEquals(5.0 / 8, m.get("eval_accuracy"));
    assertEquals(0.5, m.get("eval_loss"));
    assertEquals(0.75, m.get("calibration_bucket_1_accuracy"));
    assertEquals(4.0, m.get("calibration_bucket_0_pairs"));
  }

  @Test
  void softplusIsStable() {
    assertEquals(Math.log(2), RewardEvaluator.softplus(0), 1e-12);
    assertEquals(1000, RewardEvaluator.softplus(1000), 1e-9);
    assertEquals(Math.exp(-50), RewardEvaluator.softplus(-50), 1e-25);
  }
}
