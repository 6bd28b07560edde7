package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gao et al.'s curves: the best-of-n points, the RL checkpoint's KL estimate, the comparison. */
class OveroptimisationCurveTest {

  @Test
  void bestOfNByGoldRisesByAnInvertedModelFallsAndBestOfOneIsTheMean() {
    // 2 prompts x 16 responses; the reward model scores each response at minus its gold
    double[][] gold = new double[2][16];
    float[][] score = new float[2][16];
    for (int p = 0; p < 2; p++) {
      for (int i = 0; i < 16; i++) {
        gold[p][i] = ((i * 7 + p * 3) % 16) / 15.0;
        score[p][i] = (float) -gold[p][i];
      }
    }
    OveroptimisationCurve curve = new OveroptimisationCurve(null, null, 0, 2, List.of(), 0, 1);
    curve.addBestOfN(gold, score);
    String report = curve.report();
    // n = 1, 2, 4 (each with at least 4 draws of n per prompt), for each of the two pickers
    assertEquals(
        6,
        report.lines().filter(l -> l.startsWith("| best-of-n")).count(),
        "n = 1, 2, 4 twice: " + report);
    assertTrue(
        report.contains("| best-of-n by gold | n=1 | 0.00 | 0.00 | +0.000 | +0.000 |"), report);
    // best-of-4 closed-form KL: log 4 − 3/4 = 0.636
    assertTrue(report.contains("| best-of-n by gold | n=4 | 0.64 | 0.80 |"), report);
    double[] byGold = deltaGold(report, "best-of-n by gold");
    double[] byModel = deltaGold(report, "best-of-n by the reward model");
    assertTrue(byGold[1] > 0 && byGold[2] > byGold[1], "gold rises with n: " + report);
    assertTrue(byModel[1] < 0 && byModel[2] < byModel[1], "an inverted model falls: " + report);
  }

  @Test
  void bestOfNIsInterpolatedLinearlyInRootKl() {
    List<OveroptimisationCurve.Point> sorted =
        List.of(
            new OveroptimisationCurve.Point("b", "n=1", 0, 0, 0.4),
            new OveroptimisationCurve.Point("b", "n=2", 0.25, 0, 0.5),
            new OveroptimisationCurve.Point("b", "n=4", 1.0, 0, 0.3));
    assertEquals(0.45, OveroptimisationCurve.interpolateGold(sorted, 0.25), 1e-12);
    assertEquals(0.4, OveroptimisationCurve.interpolateGold(sorted, 0.75), 1e-12);
    assertTrue(Double.isNaN(OveroptimisationCurve.interpolateGold(sorted, 1.5)), "beyond n=4");
  }

  @Test
  void aPolicyMeasuredAgainstItselfHasNoKl() {
    // the estimate pairs the sampler's log-probs with a full forward pass of the reference: a
    // one-token misalignment between the two would read as nats of KL here
    List<Prompt> prompts = PromptSplit.standard().heldOut().subList(0, 3);
    try (NDManager manager = NDManager.newBaseManager();
        PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager)) {
      OveroptimisationCurve curve =
          new OveroptimisationCurve(
              policy,
              sequences -> {
                float[] lengths = new float[sequences.size()];
                for (int i = 0; i < lengths.length; i++) {
                  lengths[i] = sequences.get(i).length;
                }
                return lengths;
              },
              0,
              1,
              prompts,
              4,
              7);
      OveroptimisationCurve.Point point = curve.measure("self", "it 0", policy);
      assertEquals(0, point.kl(), 0.01, "KL(π ‖ π) in nats per response");
      assertTrue(point.proxy() > 0, "the proxy is the scorer's mean: " + point);
      assertTrue(point.gold() >= 0 && point.gold() <= 1, "gold is in [0, 1]: " + point);
    }
  }

  /** The Δ gold column of one curve's rows, in order. */
  private static double[] deltaGold(String report, String curve) {
    return report
        .lines()
        .filter(l -> l.startsWith("| " + curve + " |"))
        .mapToDouble(l -> Double.parseDouble(l.split("\\|")[6].strip()))
        .toArray();
  }
}
