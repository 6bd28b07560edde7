package dev.flywheel.reward;

import dev.flywheel.events.DataSplit;
import dev.flywheel.model.PairwiseRewardLoss;
import java.util.Comparator;
import java.util.List;

/**
 * One comparison group ready for the model: a token sequence per response (prompt + response + EOS)
 * and its comparisons as indices into {@link #sequences}.
 *
 * @param partition input partition it was read from
 * @param offset input offset it was read from
 * @param eventTimeMs event time of the ranking (orders the bounded buffers)
 * @param groupId the group's id
 * @param promptKey the prompt's key (decides the split, and the round's validation prompts)
 * @param split TRAIN or EVAL
 * @param sequences one token sequence per response
 * @param comparisons (winner, loser) indices into {@code sequences}, margin 0
 * @param chosen indices of the tier-0 responses (the fallback reference responses)
 * @param newestPolicyVersion the newest policy version among the responses, or -1 if none
 */
public record EncodedGroup(
    int partition,
    long offset,
    long eventTimeMs,
    String groupId,
    String promptKey,
    DataSplit split,
    List<int[]> sequences,
    List<PairwiseRewardLoss.Comparison> comparisons,
    List<Integer> chosen,
    long newestPolicyVersion) {

  /**
   * Oldest first: event time, then partition, then offset (deterministic whatever the read order).
   */
  public static final Comparator<EncodedGroup> ORDER =
      Comparator.comparingLong(EncodedGroup::eventTimeMs)
          .thenComparingInt(EncodedGroup::partition)
          .thenComparingLong(EncodedGroup::offset);

  public int tokens() {
    int n = 0;
    for (int[] s : sequences) {
      n += s.length;
    }
    return n;
  }

  /** The same comparisons with margin {@code m}. */
  public List<PairwiseRewardLoss.Comparison> comparisons(float m, int indexOffset) {
    return comparisons.stream()
        .map(
            c ->
                new PairwiseRewardLoss.Comparison(
                    c.winner() + indexOffset, c.loser() + indexOffset, m))
        .toList();
  }
}
