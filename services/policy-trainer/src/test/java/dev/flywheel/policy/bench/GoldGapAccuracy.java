package dev.flywheel.policy.bench;

import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.policy.bench.RewardModelTraining.SequenceScorer;
import dev.flywheel.simulator.Prompt;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * A reward model's pairwise accuracy by the gold gap of the pair (learning issue, item 2: "accuracy
 * by gold-gap bucket, simulator runs"): one overall figure hides where a reward model is right. The
 * easy pairs (babble against a fluent answer, gap above 0.5) carry the mean; best-of-n and RL
 * choose among the candidates that are already good, so the last row — pairs whose two responses
 * both score at least {@link #TOP} in gold — is the accuracy that decides whether optimising the
 * reward model raises gold.
 *
 * <p>Per bucket: the reward model against the gold order (every pair of distinct gold in a group),
 * and on the labelled pairs the reward model against the held-out labels and the labels' own
 * agreement with gold (that bucket's ceiling: gold ties count ½).
 */
record GoldGapAccuracy(List<GoldGapAccuracy.Bucket> buckets) {

  /** Gold at or above which a response counts as good (the top row). */
  static final double TOP = 0.5;

  /** Upper edges of the gold-gap buckets; the first starts above 0. */
  private static final double[] EDGES = {0.1, 0.25, 0.5, 1.0};

  /**
   * @param name which pairs
   * @param goldPairs pairs of distinct gold
   * @param rmVsGold share of them the reward model orders like gold
   * @param labelledPairs labelled pairs (winner, loser) in the bucket
   * @param rmVsLabels share of those the reward model orders like the label
   * @param labelsVsGold share of those gold orders like the label (ties ½): the bucket's ceiling
   */
  record Bucket(
      String name,
      int goldPairs,
      double rmVsGold,
      int labelledPairs,
      double rmVsLabels,
      double labelsVsGold) {}

  static GoldGapAccuracy of(SequenceScorer rm, List<Group> groups) {
    int buckets = EDGES.length + 1;
    double[] goldRight = new double[buckets];
    int[] goldPairs = new int[buckets];
    double[] rmLabelRight = new double[buckets];
    double[] labelGold = new double[buckets];
    int[] labelled = new int[buckets];
    for (Group g : groups) {
      float[] s = rm.score(g.sequences());
      double[] gold = g.gold();
      for (int a = 0; a < s.length; a++) {
        for (int b = a + 1; b < s.length; b++) {
          if (gold[a] == gold[b]) {
            continue;
          }
          boolean right = (s[a] > s[b]) == (gold[a] > gold[b]);
          for (int bucket : bucketsOf(gold[a], gold[b])) {
            goldRight[bucket] += right ? 1 : 0;
            goldPairs[bucket]++;
          }
        }
      }
      for (PairwiseRewardLoss.Comparison c : g.pairs()) {
        double w = gold[c.winner()];
        double l = gold[c.loser()];
        for (int bucket : bucketsOf(w, l)) {
          rmLabelRight[bucket] += s[c.winner()] > s[c.loser()] ? 1 : 0;
          labelGold[bucket] += w > l ? 1 : w == l ? 0.5 : 0;
          labelled[bucket]++;
        }
      }
    }
    List<Bucket> out = new ArrayList<>();
    for (int i = 0; i < buckets; i++) {
      out.add(
          new Bucket(
              name(i),
              goldPairs[i],
              goldRight[i] / Math.max(1, goldPairs[i]),
              labelled[i],
              rmLabelRight[i] / Math.max(1, labelled[i]),
              labelGold[i] / Math.max(1, labelled[i])));
    }
    return new GoldGapAccuracy(out);
  }

  /** The gap bucket of a pair (gold ties in the first), and the top row when both are good. */
  private static int[] bucketsOf(double x, double y) {
    double gap = Math.abs(x - y);
    int bucket = 0;
    while (bucket < EDGES.length - 1 && gap > EDGES[bucket]) {
      bucket++;
    }
    return Math.min(x, y) >= TOP ? new int[] {bucket, EDGES.length} : new int[] {bucket};
  }

  private static String name(int bucket) {
    if (bucket == EDGES.length) {
      return String.format(Locale.ROOT, "both gold >= %.1f", TOP);
    }
    double from = bucket == 0 ? 0 : EDGES[bucket - 1];
    return String.format(Locale.ROOT, "gap %.2f-%.2f", from, EDGES[bucket]);
  }

  /**
   * The reward model against the gold order by gap bucket, one row per task family and prompt kind
   * (e.g. {@code safety/unsafe} apart from {@code safety/safe}): which prompts' pairs it gets
   * wrong, and whether a family's chance-level row is one kind learned backwards. Two last rows
   * split the prompts by whether a train prompt is the same rule instance ({@code twin}: recall of
   * a trained task in other words) or not ({@code no-twin}: a combination never trained on, which
   * needs generalisation; simulator README, "twin").
   */
  static String byFamily(SequenceScorer rm, List<Group> groups, Predicate<Prompt> hasTwin) {
    // each group's candidates are scored once, though every group lands in two rows
    Map<List<int[]>, float[]> scored = new IdentityHashMap<>();
    SequenceScorer once = sequences -> scored.computeIfAbsent(sequences, rm::score);
    StringBuilder b = new StringBuilder("| family/kind |");
    for (int i = 0; i <= EDGES.length; i++) {
      b.append(' ').append(name(i)).append(" |");
    }
    b.append("\n|---|").append("---|".repeat(EDGES.length + 1)).append('\n');
    Map<String, List<Group>> byKind =
        groups.stream()
            .sorted(
                Comparator.comparing((Group g) -> g.prompt().family())
                    .thenComparing(g -> g.prompt().kind()))
            .collect(
                Collectors.groupingBy(
                    g ->
                        g.prompt().family().name().toLowerCase(Locale.ROOT)
                            + "/"
                            + g.prompt().kind(),
                    LinkedHashMap::new,
                    Collectors.toList()));
    byKind.forEach(
        (kind, of) -> {
          b.append("| ").append(kind).append(" |");
          row(b, once, of);
        });
    // a reward model's own training groups are all twins: their empty no-twin row is left out
    Map<Boolean, List<Group>> twins =
        groups.stream().collect(Collectors.partitioningBy(g -> hasTwin.test(g.prompt())));
    if (!twins.get(true).isEmpty()) {
      b.append("| twin |");
      row(b, once, twins.get(true));
    }
    if (!twins.get(false).isEmpty()) {
      b.append("| no-twin |");
      row(b, once, twins.get(false));
    }
    return b.toString();
  }

  private static void row(StringBuilder b, SequenceScorer rm, List<Group> groups) {
    for (Bucket x : of(rm, groups).buckets()) {
      b.append(
          x.goldPairs() == 0
              ? " – |"
              : String.format(Locale.ROOT, " %.2f (%d) |", x.rmVsGold(), x.goldPairs()));
    }
    b.append('\n');
  }

  String table() {
    StringBuilder b =
        new StringBuilder(
            "| pairs | gold pairs | RM vs gold | labelled pairs | RM vs labels | labels vs gold"
                + " (ceiling) |\n|---|---|---|---|---|---|\n");
    for (Bucket x : buckets) {
      b.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.3f | %d | %.3f | %.3f |%n",
              x.name(),
              x.goldPairs(),
              x.rmVsGold(),
              x.labelledPairs(),
              x.rmVsLabels(),
              x.labelsVsGold()));
    }
    return b.toString();
  }
}
