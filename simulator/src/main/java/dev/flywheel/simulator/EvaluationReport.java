package dev.flywheel.simulator;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@link Evaluation} found: one row per policy version, judged on the held-out prompts, and
 * under it one row per group of held-out prompts ({@link VersionScore#groups}): each task family,
 * then the prompts with a twin in training and those without ({@link PromptSplit#hasTwin}).
 *
 * @param versions the rows, ascending by version
 * @param heldOutPrompts held-out prompts asked per version
 * @param samples answers per prompt
 * @param temperature decoding temperature (0 = greedy)
 * @param sigma noise of the held-out labelers that judged the win rates
 */
public record EvaluationReport(
    List<VersionScore> versions,
    int heldOutPrompts,
    int samples,
    double temperature,
    double sigma) {

  /**
   * One policy version's scores.
   *
   * @param version the policy version
   * @param stage SFT / PPO ("" when unknown)
   * @param status its registry status ("" when unknown)
   * @param baselineVersion the SFT version it is compared with (its lineage root), or null if none
   * @param answered answers obtained
   * @param errors answers that failed (the version was not served, a request failed...)
   * @param meanGold mean gold score of its answers (NaN if none)
   * @param goldByFamily mean gold score per task family
   * @param comparisons (prompt, sample) pairs judged against the baseline
   * @param winRate share of those a HELD_OUT labeler preferred this version's answer (ties count
   *     half); NaN without a baseline
   * @param goldWinRate the same judged by the noise-free gold score
   * @param baselineGold the baseline's mean gold on the same comparisons (NaN without)
   * @param goldGain the mean over prompts of this version's gold minus the baseline's on the same
   *     prompt and sample seeds, with its 95% paired bootstrap interval over prompts ({@link
   *     PairedBootstrap}); null without comparisons
   * @param note why something is missing, or null
   * @param groups the same scores over groups of the held-out prompts: every {@link TaskFamily}
   *     (named in lower case, in declaration order), then {@link #TWIN} and {@link #NO_TWIN}
   */
  public record VersionScore(
      long version,
      String stage,
      String status,
      Long baselineVersion,
      int answered,
      int errors,
      double meanGold,
      Map<TaskFamily, Double> goldByFamily,
      int comparisons,
      double winRate,
      double goldWinRate,
      double baselineGold,
      PairedBootstrap.Interval goldGain,
      String note,
      List<GroupScore> groups) {

    public VersionScore {
      groups = List.copyOf(groups);
    }

    /** The row of a group ({@code arithmetic}, ..., {@link #TWIN}, {@link #NO_TWIN}). */
    public Optional<GroupScore> group(String name) {
      return groups.stream().filter(g -> g.group().equals(name)).findFirst();
    }

    /** The row of one task family's held-out prompts. */
    public Optional<GroupScore> family(TaskFamily family) {
      return group(groupName(family));
    }

    public boolean ppo() {
      return "PPO".equalsIgnoreCase(stage);
    }

    public boolean sft() {
      return "SFT".equalsIgnoreCase(stage);
    }
  }

  /** The group of held-out prompts whose rule instance a train prompt shares. */
  public static final String TWIN = "twin";

  /** The group of held-out prompts without a twin in training: they need generalisation. */
  public static final String NO_TWIN = "no-twin";

  /** A task family's group name: the family in lower case. */
  public static String groupName(TaskFamily family) {
    return family.name().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * One version's scores on a group of held-out prompts; the same measures as its overall row.
   *
   * @param group the group's name
   * @param prompts held-out prompts in the group
   * @param answered answers obtained on them
   * @param meanGold mean gold of those answers (NaN if none)
   * @param comparisons (prompt, sample) pairs judged against the baseline
   * @param winRate share a HELD_OUT labeler preferred this version's answer, ties half (NaN if
   *     none)
   * @param goldWinRate the same judged by the noise-free gold score
   * @param baselineGold the baseline's mean gold on the same comparisons
   */
  public record GroupScore(
      String group,
      int prompts,
      int answered,
      double meanGold,
      int comparisons,
      double winRate,
      double goldWinRate,
      double baselineGold) {}

  public EvaluationReport {
    versions = List.copyOf(versions);
  }

  public Optional<VersionScore> version(long version) {
    return versions.stream().filter(v -> v.version() == version).findFirst();
  }

  /** The PPO rows that were scored. */
  public List<VersionScore> ppoVersions() {
    return versions.stream().filter(VersionScore::ppo).filter(v -> v.answered() > 0).toList();
  }

  /** The scored PPO version with the highest mean gold score. */
  public Optional<VersionScore> bestPpo() {
    return ppoVersions().stream().max((a, b) -> Double.compare(a.meanGold(), b.meanGold()));
  }

  /** The table printed by the simulator. */
  public String table() {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            "held-out evaluation: %d prompts x %d sample(s), %s, held-out labeler sigma %.3f%n",
            heldOutPrompts,
            samples,
            temperature == 0 ? "greedy" : "temperature " + temperature,
            sigma));
    out.append(
        String.format(
            "%-8s %-5s %-11s %6s %6s %7s %7s %7s %7s  %-7s %7s %9s %8s  %s%n",
            "policy",
            "stage",
            "status",
            "n",
            "gold",
            "arith",
            "polite",
            "safety",
            "concise",
            "vs",
            "gold_vs",
            "win_rate",
            "win_gold",
            "gold_gain [95%]"));
    for (VersionScore v : versions) {
      out.append(
          String.format(
              "%-8s %-5s %-11s %6d %6s %7s %7s %7s %7s  %-7s %7s %9s %8s  %s",
              "v" + v.version(),
              v.stage(),
              v.status(),
              v.answered(),
              f(v.meanGold()),
              f(v.goldByFamily().get(TaskFamily.ARITHMETIC)),
              f(v.goldByFamily().get(TaskFamily.POLITENESS)),
              f(v.goldByFamily().get(TaskFamily.SAFETY)),
              f(v.goldByFamily().get(TaskFamily.CONCISENESS)),
              v.baselineVersion() == null ? "-" : "v" + v.baselineVersion(),
              f(v.baselineGold()),
              f(v.winRate()),
              f(v.goldWinRate()),
              v.goldGain() == null ? "-" : v.goldGain()));
      if (v.note() != null) {
        out.append("  (").append(v.note()).append(')');
      }
      out.append(System.lineSeparator());
      for (GroupScore g : v.groups()) {
        out.append(
            String.format(
                "%-8s %-17s %6d %6s %7s %7s %7s %7s  %-7s %7s %9s %8s%n",
                "",
                "  " + g.group() + " (" + g.prompts() + ")",
                g.answered(),
                f(g.meanGold()),
                "",
                "",
                "",
                "",
                v.baselineVersion() == null ? "-" : "v" + v.baselineVersion(),
                f(g.baselineGold()),
                f(g.winRate()),
                f(g.goldWinRate())));
      }
    }
    return out.toString();
  }

  private static String f(Double d) {
    return d == null || d.isNaN() ? "-" : String.format("%.3f", d);
  }
}
