package dev.flywheel.reward;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Whether a reward-model version is accepted, decided on confidence bounds rather than point
 * estimates (README, "The gate").
 *
 * <ul>
 *   <li><b>No usable parent</b>: accepted iff the lower end of the candidate's accuracy interval
 *       (cluster bootstrap over eval prompts, {@link RewardEvaluator#bootstrapInterval}) is at
 *       least {@code gate-min-accuracy} — a first model must be shown better than chance, not
 *       merely score above 0.5 on a few dozen groups.
 *   <li><b>With a parent</b> (scored on the same eval groups): accepted iff the lower end of the
 *       paired interval of {@code accuracy(candidate) − accuracy(parent)} is at least {@code
 *       −gate-tolerance} (non-inferiority within the tolerance), and the candidate also clears the
 *       first rule's floor on its point estimate. Pairing over the same groups removes the groups'
 *       shared difficulty from the difference, so its interval is much narrower than either
 *       accuracy's.
 * </ul>
 *
 * With {@code gate-confidence} 0 both rules compare point estimates (the seed's rule).
 *
 * <p>A rejection says one of two things. A version shown WORSE than its parent (the whole paired
 * interval below zero; with the point rule, a difference below {@code −gate-tolerance}) suggests
 * its input taught something wrong (flipped or adversarial labels): that input is quarantined,
 * never replayed. A version merely not shown good enough (a first version inside chance's interval,
 * or one whose interval straddles the tolerance) says nothing against its input, which stays
 * replayable, so the next round learns from more data instead of less. The decision is published as
 * metric {@code gate_input_quarantined} so that a restarted trainer rebuilds the same buffer.
 */
final class RewardGate {

  /** Bootstrap resamples of the paired difference (seeded: one eval set, one decision). */
  static final int RESAMPLES = 2000;

  static final long SEED = 20240229L;

  /** Version metric: 1 when the version's input was quarantined (see the class comment). */
  static final String QUARANTINE_METRIC = "gate_input_quarantined";

  /**
   * Whether a published REJECTED version's input is quarantined. Versions from before the metric
   * existed were all quarantined, and stay so.
   */
  static boolean quarantined(Map<String, Double> versionMetrics) {
    Double flag = versionMetrics == null ? null : versionMetrics.get(QUARANTINE_METRIC);
    return flag == null || flag != 0.0;
  }

  private final double confidence;
  private final double tolerance;
  private final double minAccuracy;

  RewardGate(double confidence, double tolerance, double minAccuracy) {
    this.confidence = confidence;
    this.tolerance = tolerance;
    this.minAccuracy = minAccuracy;
  }

  static RewardGate of(RewardTrainerConfig config) {
    return new RewardGate(
        config.getGateConfidence(), config.getGateTolerance(), config.getGateMinAccuracy());
  }

  /**
   * @param accepted the version goes LIVE
   * @param statistic what was compared with the threshold: the candidate's accuracy (bound) without
   *     a parent, the (bound of the) difference to the parent with one
   * @param threshold {@code gate-min-accuracy} without a parent, {@code −gate-tolerance} with one
   * @param difference candidate − parent accuracy on the same groups (NaN without a parent)
   * @param differenceLow lower end of its interval (NaN without a parent)
   * @param differenceHigh upper end of its interval (NaN without a parent)
   * @param quarantine the version was shown worse than its parent: its input is never replayed
   */
  record Decision(
      boolean accepted,
      double statistic,
      double threshold,
      double difference,
      double differenceLow,
      double differenceHigh,
      boolean quarantine) {

    Map<String, Double> metrics() {
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("gate_statistic", statistic);
      m.put("gate_threshold", threshold);
      m.put("gate_passed", accepted ? 1.0 : 0.0);
      m.put(QUARANTINE_METRIC, quarantine ? 1.0 : 0.0);
      m.put("parent_accuracy_difference", difference);
      m.put("parent_accuracy_difference_low", differenceLow);
      m.put("parent_accuracy_difference_high", differenceHigh);
      return m;
    }
  }

  /**
   * @param candidate the new version on the eval groups
   * @param parent the accepted version on the SAME groups in the same order, or null
   */
  Decision decide(RewardEvaluator.Result candidate, RewardEvaluator.Result parent) {
    if (parent == null) {
      double level =
          confidence > 0
              ? pairedInterval(
                  candidate.promptRight(),
                  new int[candidate.promptRight().length],
                  candidate.promptPairs(),
                  confidence,
                  RESAMPLES,
                  SEED)[0]
              : candidate.accuracy();
      return new Decision(
          candidate.pairs() > 0 && level >= minAccuracy,
          level,
          minAccuracy,
          Double.NaN,
          Double.NaN,
          Double.NaN,
          false);
    }
    if (!Arrays.equals(candidate.promptPairs(), parent.promptPairs())) {
      throw new IllegalArgumentException("candidate and parent were not scored on the same groups");
    }
    double difference = candidate.accuracy() - parent.accuracy();
    double[] bounds =
        confidence > 0
            ? pairedInterval(
                candidate.promptRight(),
                parent.promptRight(),
                candidate.promptPairs(),
                confidence,
                RESAMPLES,
                SEED)
            : new double[] {difference, difference};
    double statistic = bounds[0];
    boolean accepted =
        candidate.pairs() > 0 && candidate.accuracy() >= minAccuracy && statistic >= -tolerance;
    boolean worse = confidence > 0 ? bounds[1] < 0 : difference < -tolerance;
    return new Decision(
        accepted, statistic, -tolerance, difference, bounds[0], bounds[1], !accepted && worse);
  }

  /**
   * Two-sided percentile bootstrap interval at {@code level} of {@code Σa/Σpairs − Σb/Σpairs},
   * resampling whole prompts ({@link RewardEvaluator#promptClusters}) with both models' counts kept
   * together (a paired cluster bootstrap; with {@code b} all zeros, the interval of one model's
   * accuracy). Seeded: one eval set gives one interval.
   */
  static double[] pairedInterval(
      int[] rightA, int[] rightB, int[] pairs, double level, int resamples, long seed) {
    int n = pairs.length;
    if (n == 0) {
      return new double[] {Double.NaN, Double.NaN};
    }
    SplittableRandom random = new SplittableRandom(seed);
    double[] estimates = new double[resamples];
    for (int b = 0; b < resamples; b++) {
      long a = 0;
      long c = 0;
      long p = 0;
      for (int i = 0; i < n; i++) {
        int j = random.nextInt(n);
        a += rightA[j];
        c += rightB[j];
        p += pairs[j];
      }
      estimates[b] = p == 0 ? 0 : (double) (a - c) / p;
    }
    Arrays.sort(estimates);
    double tail = (1 - level) / 2;
    return new double[] {
      estimates[(int) Math.floor(tail * (resamples - 1))],
      estimates[(int) Math.ceil((1 - tail) * (resamples - 1))]
    };
  }
}
