package dev.flywheel.policy.train;

/** Mean, sample standard deviation and explained variance of plain arrays (scores, returns). */
final class ArrayStats {

  private ArrayStats() {}

  static double mean(float[] x) {
    double s = 0;
    for (float v : x) {
      s += v;
    }
    return x.length == 0 ? Double.NaN : s / x.length;
  }

  static double std(float[] x) {
    if (x.length < 2) {
      return 0;
    }
    double m = mean(x);
    double s = 0;
    for (float v : x) {
      s += (v - m) * (v - m);
    }
    return Math.sqrt(s / (x.length - 1));
  }

  /** 1 − Var(returns − values) / Var(returns) over the masked entries (1 is a perfect critic). */
  static double explainedVariance(float[] values, float[] returns, float[] mask) {
    double n = 0;
    double sr = 0;
    double sd = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i] > 0) {
        n++;
        sr += returns[i];
        sd += returns[i] - values[i];
      }
    }
    if (n < 2) {
      return Double.NaN;
    }
    double mr = sr / n;
    double md = sd / n;
    double vr = 0;
    double vd = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i] > 0) {
        vr += (returns[i] - mr) * (returns[i] - mr);
        double d = returns[i] - values[i] - md;
        vd += d * d;
      }
    }
    return vr == 0 ? Double.NaN : 1 - vd / vr;
  }
}
