package dev.flywheel.pairs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Inter-annotator agreement over the response pairs two annotators both ranked.
 *
 * <p>For every unordered pair {x, y} of responses that both rankings hold, each annotator either
 * prefers one (x above y, or y above x) or ties them. The four outcomes are counted separately:
 *
 * <ul>
 *   <li>{@code strictAgree}: both prefer the same response;
 *   <li>{@code strictDisagree}: both prefer one, but not the same;
 *   <li>{@code bothTied}: both tie the pair;
 *   <li>{@code tieMismatch}: one ties it, the other prefers one.
 * </ul>
 *
 * {@link Tally#agreementRate()} is strictAgree / (strictAgree + strictDisagree): the pairs a reward
 * model is trained and judged on are strict ones (tied responses form no pair), so this is the
 * ceiling a reward model's pairwise accuracy can reach against these annotators. {@link
 * Tally#agreementRateWithTies()} treats "tied" as a third answer: (strictAgree + bothTied) / all
 * pairs.
 */
public final class Agreement {

  private Agreement() {}

  /** One annotator's ranking of a transcript, as the agreement store keeps it. */
  public record Judgement(String rankingId, String annotatorId, Map<String, Integer> tierOf) {}

  /** Outcome counts; add them up over annotator pairs and prompts. */
  public record Tally(long strictAgree, long strictDisagree, long bothTied, long tieMismatch) {

    public static final Tally ZERO = new Tally(0, 0, 0, 0);

    public Tally plus(Tally o) {
      return new Tally(
          strictAgree + o.strictAgree,
          strictDisagree + o.strictDisagree,
          bothTied + o.bothTied,
          tieMismatch + o.tieMismatch);
    }

    public long pairsCompared() {
      return strictAgree + strictDisagree + bothTied + tieMismatch;
    }

    public long strictPairsCompared() {
      return strictAgree + strictDisagree;
    }

    /** NaN when no pair was strictly ranked by both. */
    public double agreementRate() {
      long strict = strictPairsCompared();
      return strict == 0 ? Double.NaN : strictAgree / (double) strict;
    }

    /** NaN when no pair was compared. */
    public double agreementRateWithTies() {
      long all = pairsCompared();
      return all == 0 ? Double.NaN : (strictAgree + bothTied) / (double) all;
    }
  }

  /** Compares two rankings (response id to tier, 0 = best) over the responses both hold. */
  public static Tally compare(Map<String, Integer> a, Map<String, Integer> b) {
    List<String> common = new ArrayList<>();
    for (String id : a.keySet()) {
      if (b.containsKey(id)) {
        common.add(id);
      }
    }
    common.sort(null);
    long agree = 0;
    long disagree = 0;
    long tied = 0;
    long mismatch = 0;
    for (int i = 0; i < common.size(); i++) {
      for (int j = i + 1; j < common.size(); j++) {
        String x = common.get(i);
        String y = common.get(j);
        int ra = Integer.signum(a.get(x) - a.get(y));
        int rb = Integer.signum(b.get(x) - b.get(y));
        if (ra == 0 && rb == 0) {
          tied++;
        } else if (ra == 0 || rb == 0) {
          mismatch++;
        } else if (ra == rb) {
          agree++;
        } else {
          disagree++;
        }
      }
    }
    return new Tally(agree, disagree, tied, mismatch);
  }

  /**
   * Compares a new judgement with the earlier ones of the same transcript by other annotators (an
   * annotator is not compared with themself).
   */
  public static Tally compareWithEarlier(Judgement fresh, List<Judgement> earlier) {
    Tally total = Tally.ZERO;
    for (Judgement old : earlier) {
      if (!old.annotatorId().equals(fresh.annotatorId())) {
        total = total.plus(compare(fresh.tierOf(), old.tierOf()));
      }
    }
    return total;
  }
}
