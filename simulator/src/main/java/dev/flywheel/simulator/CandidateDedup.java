package dev.flywheel.simulator;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Makes a labeler rank distinct responses ({@code --dedup-candidates}): a policy that samples the
 * same text for all K candidates yields a ranking whose responses all tie, which the pair assembler
 * drops as {@code NO_PAIRS}; a repeated text in a larger set is a pair that compares a response
 * with itself.
 *
 * <p>When some of a completion's candidates are identical (exactly equal texts), up to {@code
 * maxReplacements} replacement completions are asked for (the same request with a new seed). A
 * replacement is a whole K-candidate completion, never the missing candidates alone: a ranking
 * names one transcript and only that transcript's response ids (the pair assembler dead-letters any
 * other id as {@code UNKNOWN_RESPONSE_ID}), so candidates of two completions cannot be ranked
 * together. The first completion whose K candidates are distinct is ranked; if none is, the
 * completion with the most distinct texts (the earliest on a tie) is ranked on one candidate per
 * distinct text (its first occurrence), when there are at least two; otherwise the ranking is
 * skipped. Completions asked for and not ranked are transcripts that nobody ranks, like the
 * evaluation's.
 */
final class CandidateDedup {

  /** Replacement completions asked for at most per ranking, by default. */
  static final int DEFAULT_MAX_REPLACEMENTS = 2;

  /** Asks serving for one replacement completion; null when none can be had (stopped, failed). */
  @FunctionalInterface
  interface Replacements {
    ServingClient.Completion next(int attempt) throws InterruptedException;
  }

  /**
   * What to rank.
   *
   * @param completion the completion whose candidates are ranked (the first or a replacement)
   * @param ranked indexes (into its choices) of the candidates to rank: one per distinct text, in
   *     index order; every index when dedup is off
   * @param hadDuplicates whether the first completion had identical candidates
   * @param replacements replacement completions received (asked for and answered)
   * @param skipped fewer than two distinct candidates even after the replacements: rank nothing
   */
  record Selection(
      ServingClient.Completion completion,
      List<Integer> ranked,
      boolean hadDuplicates,
      int replacements,
      boolean skipped) {}

  private final int maxReplacements;

  CandidateDedup(int maxReplacements) {
    if (maxReplacements < 0) {
      throw new IllegalArgumentException("max replacements must be >= 0: " + maxReplacements);
    }
    this.maxReplacements = maxReplacements;
  }

  /** Every candidate of {@code first}, deduplication off; duplicates are still reported. */
  static Selection all(ServingClient.Completion first) {
    List<Integer> every = new ArrayList<>();
    for (int i = 0; i < first.choices().size(); i++) {
      every.add(i);
    }
    boolean duplicates = distinct(first.texts()).size() < first.choices().size();
    return new Selection(first, List.copyOf(every), duplicates, 0, false);
  }

  /** The candidates to rank, asking {@code replacements} for new completions as needed. */
  Selection select(ServingClient.Completion first, Replacements replacements)
      throws InterruptedException {
    int wanted = first.choices().size();
    ServingClient.Completion best = first;
    List<Integer> bestDistinct = distinct(first.texts());
    boolean hadDuplicates = bestDistinct.size() < wanted;
    int received = 0;
    for (int attempt = 0; bestDistinct.size() < wanted && attempt < maxReplacements; attempt++) {
      ServingClient.Completion c = replacements.next(attempt);
      if (c == null) {
        break;
      }
      received++;
      List<Integer> d = distinct(c.texts());
      if (d.size() > bestDistinct.size()) {
        best = c;
        bestDistinct = d;
      }
    }
    return new Selection(best, bestDistinct, hadDuplicates, received, bestDistinct.size() < 2);
  }

  /** Index of the first occurrence of every distinct text, in index order. */
  static List<Integer> distinct(List<String> texts) {
    Set<String> seen = new HashSet<>();
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      if (seen.add(texts.get(i))) {
        out.add(i);
      }
    }
    return List.copyOf(out);
  }
}
