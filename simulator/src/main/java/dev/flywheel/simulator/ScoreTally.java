package dev.flywheel.simulator;

/**
 * Sums for one row of an {@link EvaluationReport}: a version's answers (gold) and its comparisons
 * with the baseline (labeler wins, gold wins, the baseline's gold), over all held-out prompts or
 * over a group of them. Not thread-safe.
 */
final class ScoreTally {

  private double goldSum;
  private int answered;
  private double wins;
  private double goldWins;
  private double baselineGoldSum;
  private int comparisons;

  /** One answer with this gold score. */
  void answer(double gold) {
    goldSum += gold;
    answered++;
  }

  /**
   * One (prompt, sample) comparison.
   *
   * @param win the HELD_OUT labeler's verdict for this version: 1, 0.5 (tie) or 0
   * @param gold this version's answer's gold
   * @param baselineGold the baseline's answer's gold
   */
  void comparison(double win, double gold, double baselineGold) {
    wins += win;
    goldWins += gold > baselineGold ? 1 : gold == baselineGold ? 0.5 : 0;
    baselineGoldSum += baselineGold;
    comparisons++;
  }

  int answered() {
    return answered;
  }

  double meanGold() {
    return answered == 0 ? Double.NaN : goldSum / answered;
  }

  int comparisons() {
    return comparisons;
  }

  double winRate() {
    return comparisons == 0 ? Double.NaN : wins / comparisons;
  }

  double goldWinRate() {
    return comparisons == 0 ? Double.NaN : goldWins / comparisons;
  }

  double baselineGold() {
    return comparisons == 0 ? Double.NaN : baselineGoldSum / comparisons;
  }

  EvaluationReport.GroupScore group(String name, int prompts) {
    return new EvaluationReport.GroupScore(
        name, prompts, answered, meanGold(), comparisons, winRate(), goldWinRate(), baselineGold());
  }
}
