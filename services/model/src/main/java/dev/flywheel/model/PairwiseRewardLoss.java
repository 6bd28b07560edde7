package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import java.util.ArrayList;
import java.util.List;

/**
 * The InstructGPT reward-model loss (Ouyang et al. 2022, §3.5, eq. 1):
 *
 * <pre>
 *   loss(θ) = -1/C(K,2) · E_(x, y_w, y_l) [ log σ(r(x, y_w) - r(x, y_l) - m) ]
 * </pre>
 *
 * A labeler ranks K responses to one prompt; all C(K,2) pairs of that ranking form ONE batch
 * element whose pairs each weigh 1/#pairs, so every ranked prompt counts the same however large K
 * was (shuffling pairs into separate elements overfits: each response would be seen K-1 times per
 * epoch). The batch loss is the mean over groups. The optional margin m per pair (Llama 2's margin
 * loss, Touvron et al. 2023) demands a wider gap where labelers were more certain; 0 gives the
 * InstructGPT loss.
 */
public final class PairwiseRewardLoss {

  private PairwiseRewardLoss() {}

  /**
   * One comparison: index of the preferred and of the rejected response into the rewards vector.
   *
   * @param winner index of y_w in the rewards array
   * @param loser index of y_l in the rewards array
   * @param margin m, subtracted from r_w - r_l (0 for the plain InstructGPT loss)
   */
  public record Comparison(int winner, int loser, float margin) {
    public Comparison(int winner, int loser) {
      this(winner, loser, 0f);
    }
  }

  /**
   * @param loss scalar: mean over groups of the mean over the group's pairs of -log σ(r_w - r_l -
   *     m)
   * @param accuracy fraction of all pairs (unweighted) where r_w > r_l
   * @param pairs number of comparison pairs in the batch
   */
  public record Result(NDArray loss, float accuracy, int pairs) {}

  /**
   * @param rewards (N,) scores of every response in the batch (all groups' responses concatenated)
   * @param groups one list of comparisons per ranked prompt; each must be non-empty
   */
  public static Result compute(NDArray rewards, List<List<Comparison>> groups) {
    int pairs = groups.stream().mapToInt(List::size).sum();
    long[] winners = new long[pairs];
    long[] losers = new long[pairs];
    float[] margins = new float[pairs];
    float[] weights = new float[pairs];
    int i = 0;
    for (List<Comparison> group : groups) {
      if (group.isEmpty()) {
        throw new IllegalArgumentException("a group without comparisons");
      }
      for (Comparison c : group) {
        winners[i] = c.winner();
        losers[i] = c.loser();
        margins[i] = c.margin();
        weights[i++] = 1f / (group.size() * groups.size());
      }
    }
    NDManager manager = rewards.getManager();
    NDArray rw = rewards.gather(manager.create(winners), 0);
    NDArray rl = rewards.gather(manager.create(losers), 0);
    NDArray difference = rw.sub(rl);
    // -log σ(z) = softplus(-z), computed stably
    NDArray perPair = Activation.softPlus(difference.sub(manager.create(margins)).neg());
    NDArray loss = perPair.mul(manager.create(weights)).sum();
    float accuracy = difference.gt(0).toType(DataType.FLOAT32, false).mean().getFloat();
    return new Result(loss, accuracy, pairs);
  }

  /**
   * All C(K,2) comparisons of one ranking. {@code ranking[j]} is the index (into the rewards
   * vector) of the response ranked j-th, best first.
   */
  public static List<Comparison> fromRanking(int... ranking) {
    List<Comparison> out = new ArrayList<>();
    for (int a = 0; a < ranking.length; a++) {
      for (int b = a + 1; b < ranking.length; b++) {
        out.add(new Comparison(ranking[a], ranking[b]));
      }
    }
    return out;
  }
}
