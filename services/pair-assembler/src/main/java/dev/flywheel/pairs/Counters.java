package dev.flywheel.pairs;

import java.util.Map;
import java.util.TreeMap;

/**
 * Named cumulative counts of one task (or, summed, of the whole application): what the metrics
 * publisher turns into {@code training.metrics} records. Mutable; not thread-safe (one per task).
 */
public final class Counters {

  public static final String GROUPS = "groups_emitted";
  public static final String PAIRS = "pairs_emitted";
  public static final String TRAIN_GROUPS = "train_groups";
  public static final String EVAL_GROUPS = "eval_groups";
  public static final String DUPLICATES = "duplicate_rankings";
  public static final String ORPHANS = "orphan_rankings";
  public static final String DEAD_LETTERS = "dead_letters";
  public static final String STRICT_AGREE = "strict_agreements";
  public static final String STRICT_DISAGREE = "strict_disagreements";
  public static final String BOTH_TIED = "tie_agreements";
  public static final String TIE_MISMATCH = "tie_mismatches";
  public static final String RANKING_PAIRS = "ranking_pairs_compared";
  public static final String MULTI_ANNOTATOR_PROMPTS = "prompts_with_multiple_annotators";

  private final TreeMap<String, Long> values;

  public Counters() {
    this(new TreeMap<>());
  }

  Counters(TreeMap<String, Long> values) {
    this.values = values;
  }

  public void add(String name, long delta) {
    if (delta != 0) {
      values.merge(name, delta, Long::sum);
    }
  }

  public long get(String name) {
    return values.getOrDefault(name, 0L);
  }

  public void addAll(Counters other) {
    other.values.forEach(this::add);
  }

  public Map<String, Long> asMap() {
    return java.util.Collections.unmodifiableMap(values);
  }

  public Counters copy() {
    return new Counters(new TreeMap<>(values));
  }

  public Agreement.Tally tally() {
    return new Agreement.Tally(
        get(STRICT_AGREE), get(STRICT_DISAGREE), get(BOTH_TIED), get(TIE_MISMATCH));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Counters c && c.values.equals(values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
