package dev.flywheel.simulator;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Finds the labeler noise sigma at which two independent labelers agree on a target share of pairs:
 * InstructGPT reports 72.6 +- 1.5 % inter-annotator agreement among its training labelers, so the
 * default target is 0.73.
 *
 * <p>Agreement is measured on pairs of responses of one candidate set whose gold scores differ
 * (pairs with equal gold are tied by every labeler and say nothing). For a pair with gold gap
 * {@code d}, a labeler orders it the gold way with probability {@code p = Phi(|d| / (sigma sqrt
 * 2))}, and two independent labelers agree with probability {@code p^2 + (1 - p)^2}; the expected
 * agreement over a sample is the mean of that over its pairs, which falls monotonically from 1
 * (sigma = 0) towards 0.5, so bisection finds sigma. {@link #measuredAgreement} then simulates two
 * labelers on the sample to report what the chosen sigma really gives.
 *
 * <p>The answer depends on the candidate sets: the spread of gold scores among K candidates. The
 * simulator calibrates on {@link #syntheticSample}, sets drawn like an SFT policy's samples (the
 * demonstration styles, some with byte-level slips); its progress lines report the agreement two
 * labelers reach on the live candidate sets, which drifts as the policy changes.
 */
public final class NoiseCalibration {

  /** InstructGPT's inter-annotator agreement (72.6 +- 1.5 %), rounded. */
  public static final double TARGET_AGREEMENT = 0.73;

  /** One candidate set: a prompt and the K responses a labeler ranks. */
  public record CandidateSet(Prompt prompt, List<String> responses) {
    public CandidateSet {
      responses = List.copyOf(responses);
    }
  }

  /**
   * A calibration outcome.
   *
   * @param sigma the noise sigma found
   * @param target the agreement aimed at
   * @param expectedAgreement the agreement sigma gives in expectation on the sample
   * @param measuredAgreement the agreement of two simulated labelers (different seeds) on the
   *     sample
   * @param goldAgreement the expected share of pairs one labeler orders like the gold score: the
   *     ceiling for a reward model's accuracy on this labeler's rankings (a perfect model knows the
   *     gold score)
   * @param sets candidate sets in the sample
   * @param pairs pairs with distinct gold scores in the sample
   */
  public record Result(
      double sigma,
      double target,
      double expectedAgreement,
      double measuredAgreement,
      double goldAgreement,
      int sets,
      long pairs) {
    @Override
    public String toString() {
      return String.format(
          "sigma=%.4f: inter-labeler agreement %.3f expected, %.3f measured (target %.3f); "
              + "labeler vs gold %.3f; %d sets, %d pairs",
          sigma, expectedAgreement, measuredAgreement, target, goldAgreement, sets, pairs);
    }
  }

  private NoiseCalibration() {}

  /**
   * Calibrates sigma on {@code sample} for {@code target} agreement; the measurement uses {@code
   * seed}.
   */
  public static Result calibrate(List<CandidateSet> sample, double target, long seed) {
    if (!(target > 0.5 && target < 1)) {
      throw new IllegalArgumentException("target agreement must be in (0.5, 1): " + target);
    }
    List<Double> gaps = gaps(sample);
    if (gaps.isEmpty()) {
      throw new IllegalArgumentException(
          "the sample has no pair of responses with different gold scores");
    }
    double lo = 0;
    double hi = 0.05;
    while (expected(gaps, hi) > target) {
      hi *= 2;
      if (hi > 1e6) {
        throw new IllegalStateException("no sigma reaches agreement " + target);
      }
    }
    for (int i = 0; i < 100 && hi - lo > 1e-9; i++) {
      double mid = (lo + hi) / 2;
      if (expected(gaps, mid) > target) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    double sigma = (lo + hi) / 2;
    double measured =
        measuredAgreement(
            sample, sigma, SyntheticLabeler.mix(seed, 1), SyntheticLabeler.mix(seed, 2));
    return new Result(
        sigma,
        target,
        expected(gaps, sigma),
        measured,
        goldAgreement(gaps, sigma),
        sample.size(),
        gaps.size());
  }

  /**
   * Evaluates a given sigma on the sample the way {@link #calibrate} reports its own (for a fixed
   * {@code --sigma}).
   */
  public static Result evaluate(List<CandidateSet> sample, double sigma, double target, long seed) {
    List<Double> gaps = gaps(sample);
    double measured =
        measuredAgreement(
            sample, sigma, SyntheticLabeler.mix(seed, 1), SyntheticLabeler.mix(seed, 2));
    return new Result(
        sigma,
        target,
        expected(gaps, sigma),
        measured,
        goldAgreement(gaps, sigma),
        sample.size(),
        gaps.size());
  }

  /** The expected agreement of two independent labelers with this sigma on the sample's pairs. */
  public static double expectedAgreement(List<CandidateSet> sample, double sigma) {
    return expected(gaps(sample), sigma);
  }

  /**
   * The share of distinct-gold pairs on which two labelers with these seeds and this sigma order
   * the pair the same way (each set is ranked once by each, K-wise, as in the loop).
   */
  public static double measuredAgreement(
      List<CandidateSet> sample, double sigma, long seedA, long seedB) {
    SyntheticLabeler a =
        new SyntheticLabeler("calibration-a", SyntheticLabeler.Pool.TRAINING, sigma, seedA);
    SyntheticLabeler b =
        new SyntheticLabeler("calibration-b", SyntheticLabeler.Pool.TRAINING, sigma, seedB);
    long pairs = 0;
    long agree = 0;
    for (int s = 0; s < sample.size(); s++) {
      CandidateSet set = sample.get(s);
      double[] gold = golds(set);
      String key = "calibration-" + s;
      int[] ta = SyntheticLabeler.tierIndex(a.rankScores(gold, key), gold.length);
      int[] tb = SyntheticLabeler.tierIndex(b.rankScores(gold, key), gold.length);
      for (int i = 0; i < gold.length; i++) {
        for (int j = i + 1; j < gold.length; j++) {
          if (gold[i] != gold[j]) {
            pairs++;
            if (Integer.signum(ta[i] - ta[j]) == Integer.signum(tb[i] - tb[j])) {
              agree++;
            }
          }
        }
      }
    }
    return pairs == 0 ? 1.0 : agree / (double) pairs;
  }

  /**
   * {@code sets} candidate sets of {@code k} responses to random prompts from {@code prompts}, each
   * response written in a random style (GOOD 40 %, VERBOSE, IMPOLITE, WRONG 20 % each) and, one
   * time in three, with a byte-level slip (a character replaced, dropped or the text cut short) as
   * a sampled tiny model makes them.
   */
  public static List<CandidateSet> syntheticSample(
      List<Prompt> prompts, int k, int sets, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<CandidateSet> out = new ArrayList<>(sets);
    for (int s = 0; s < sets; s++) {
      Prompt prompt = prompts.get(random.nextInt(prompts.size()));
      List<String> responses = new ArrayList<>(k);
      for (int i = 0; i < k; i++) {
        double u = random.nextDouble();
        Style style =
            u < 0.4 ? Style.GOOD : u < 0.6 ? Style.VERBOSE : u < 0.8 ? Style.IMPOLITE : Style.WRONG;
        String text = prompt.family().respond(prompt, style, random);
        if (random.nextInt(3) == 0) {
          text = slip(text, random);
        }
        responses.add(text);
      }
      out.add(new CandidateSet(prompt, responses));
    }
    return out;
  }

  private static String slip(String text, SplittableRandom random) {
    if (text.length() < 2) {
      return text + (char) ('a' + random.nextInt(26));
    }
    int at = random.nextInt(text.length());
    return switch (random.nextInt(3)) {
      case 0 -> text.substring(0, at) + (char) ('a' + random.nextInt(26)) + text.substring(at + 1);
      case 1 -> text.substring(0, at) + text.substring(at + 1);
      default -> text.substring(0, Math.max(1, at));
    };
  }

  private static double[] golds(CandidateSet set) {
    double[] gold = new double[set.responses().size()];
    for (int i = 0; i < gold.length; i++) {
      gold[i] = set.prompt().gold(set.responses().get(i));
    }
    return gold;
  }

  private static List<Double> gaps(List<CandidateSet> sample) {
    List<Double> gaps = new ArrayList<>();
    for (CandidateSet set : sample) {
      double[] gold = golds(set);
      for (int i = 0; i < gold.length; i++) {
        for (int j = i + 1; j < gold.length; j++) {
          if (gold[i] != gold[j]) {
            gaps.add(Math.abs(gold[i] - gold[j]));
          }
        }
      }
    }
    return gaps;
  }

  private static double goldAgreement(List<Double> gaps, double sigma) {
    if (sigma == 0 || gaps.isEmpty()) {
      return 1.0;
    }
    double sum = 0;
    for (double d : gaps) {
      sum += phi(d / (sigma * Math.sqrt(2)));
    }
    return sum / gaps.size();
  }

  private static double expected(List<Double> gaps, double sigma) {
    if (gaps.isEmpty()) {
      return 1.0;
    }
    if (sigma == 0) {
      return 1.0;
    }
    double sum = 0;
    for (double d : gaps) {
      double p = phi(d / (sigma * Math.sqrt(2)));
      sum += p * p + (1 - p) * (1 - p);
    }
    return sum / gaps.size();
  }

  /** The standard normal CDF. */
  static double phi(double x) {
    return 0.5 * (1 + erf(x / Math.sqrt(2)));
  }

  /** erf, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7). */
  static double erf(double x) {
    double sign = Math.signum(x);
    double ax = Math.abs(x);
    double t = 1 / (1 + 0.3275911 * ax);
    double y =
        1
            - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
                    + 0.254829592)
                * t
                * Math.exp(-ax * ax);
    return sign * y;
  }
}
