package dev.flywheel.policy.bench;

import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.simulator.NoiseCalibration;
import java.util.List;
import java.util.Locale;

/**
 * What held-out labels allow a reward model to reach, measured on the candidate sets it is judged
 * on (the SFT policy's own samples), not on the simulator's synthetic calibration sets.
 *
 * <p>Two ceilings (learning issue, item 2): the <em>inter-labeler agreement</em> (how often two
 * labelers order a pair alike; InstructGPT's 72.6%) and the <em>labeler-vs-gold agreement</em> (how
 * often a held-out labeler orders a pair like the gold score): a perfect reward model knows the
 * gold score, so the second is the most accuracy against held-out labels any reward model can have.
 * Both fall when the candidates' gold gaps are small next to the labelers' noise, which is what the
 * policy's samples are.
 *
 * @param sigma the labelers' noise
 * @param interLabeler expected agreement of two labelers on the sets' distinct-gold pairs
 * @param labelerVsGoldExpected expected share of those pairs a labeler orders like gold
 * @param labelerVsGoldMeasured share of the held-out labels that gold orders alike (gold ties ½)
 * @param pairs labelled pairs measured
 */
record LabelCeilings(
    double sigma,
    double interLabeler,
    double labelerVsGoldExpected,
    double labelerVsGoldMeasured,
    int pairs) {

  /**
   * The simulator's default sigma: calibrated on {@link NoiseCalibration#syntheticSample} to
   * InstructGPT's agreement at K = 4 (simulator README, "Labeler noise").
   */
  static final double SYNTHETIC_SIGMA = 0.339;

  /**
   * Calibration sets drawn from the policy; sigma for {@link NoiseCalibration#TARGET_AGREEMENT}.
   */
  static double calibrateOnPolicy(List<NoiseCalibration.CandidateSet> policySamples, long seed) {
    NoiseCalibration.Result r =
        NoiseCalibration.calibrate(policySamples, NoiseCalibration.TARGET_AGREEMENT, seed);
    System.out.println("labeler noise calibrated on the SFT policy's own samples: " + r);
    return r.sigma();
  }

  static LabelCeilings of(List<Group> groups, double sigma, long seed) {
    List<NoiseCalibration.CandidateSet> sets =
        groups.stream().map(g -> new NoiseCalibration.CandidateSet(g.prompt(), g.texts())).toList();
    NoiseCalibration.Result r =
        NoiseCalibration.evaluate(sets, sigma, NoiseCalibration.TARGET_AGREEMENT, seed);
    double agree = 0;
    int pairs = 0;
    for (Group g : groups) {
      for (PairwiseRewardLoss.Comparison c : g.pairs()) {
        double w = g.gold()[c.winner()];
        double l = g.gold()[c.loser()];
        agree += w > l ? 1 : w == l ? 0.5 : 0;
        pairs++;
      }
    }
    return new LabelCeilings(
        sigma, r.expectedAgreement(), r.goldAgreement(), agree / Math.max(1, pairs), pairs);
  }

  /**
   * A reward model's accuracy against the held-out labels over each ceiling, and as the share of
   * the way from chance (0.5) to the labeler-vs-gold ceiling.
   */
  String describe(double accuracy) {
    return String.format(
        Locale.ROOT,
        "accuracy %.3f = %.2f of the inter-labeler agreement, %.2f of labeler-vs-gold;"
            + " %.0f%% of the way from chance to labeler-vs-gold",
        accuracy,
        accuracy / interLabeler,
        accuracy / labelerVsGoldMeasured,
        100 * (accuracy - 0.5) / (labelerVsGoldMeasured - 0.5));
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "sigma %.3f: inter-labeler agreement %.3f, labeler vs gold %.3f expected / %.3f measured"
            + " on %d labelled pairs (the ceiling for a reward model against held-out labels)",
        sigma,
        interLabeler,
        labelerVsGoldExpected,
        labelerVsGoldMeasured,
        pairs);
  }
}
