package dev.flywheel.simulator;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * The mean of per-prompt differences between two policies and its 95% bootstrap interval over
 * prompts (2,000 resamples, percentile method; Efron &amp; Tibshirani 1993): the interval every
 * learning figure of the project carries. Pairing by prompt removes the prompts' own difficulty
 * from the noise of the difference.
 */
public final class PairedBootstrap {

  /** Resamples drawn. */
  public static final int RESAMPLES = 2000;

  /** A mean and its 95% interval. */
  public record Interval(double mean, double low, double high) {
    /** "+0.021 [-0.004, +0.046]". */
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%+.3f [%+.3f, %+.3f]", mean, low, high);
    }
  }

  private PairedBootstrap() {}

  /** Mean of {@code d} (one value per prompt) and its 95% interval; {@code seed} draws it. */
  public static Interval of(double[] d, long seed) {
    int n = d.length;
    if (n == 0) {
      throw new IllegalArgumentException("no prompts to resample");
    }
    double mean = 0;
    for (double x : d) {
      mean += x / n;
    }
    Random random = new Random(seed);
    double[] boot = new double[RESAMPLES];
    for (int r = 0; r < boot.length; r++) {
      double m = 0;
      for (int i = 0; i < n; i++) {
        m += d[random.nextInt(n)] / n;
      }
      boot[r] = m;
    }
    Arrays.sort(boot);
    return new Interval(mean, boot[49], boot[1950]);
  }

  /** {@link #of} the differences {@code a[i] − b[i]}. */
  public static Interval difference(double[] a, double[] b, long seed) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(a.length + " prompts against " + b.length);
    }
    double[] d = new double[a.length];
    for (int i = 0; i < d.length; i++) {
      d[i] = a[i] - b[i];
    }
    return of(d, seed);
  }
}
