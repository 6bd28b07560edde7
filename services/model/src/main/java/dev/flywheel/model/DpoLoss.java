package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Direct preference optimisation on (chosen, rejected) pairs: the policy's log-ratio to a frozen
 * reference on the chosen response minus that on the rejected one, h = (log π(y_w) − log
 * π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)), sequence log-probs summed over response tokens,
 * pushed up by
 *
 * <ul>
 *   <li>{@link #sigmoid}: −(1 − ε)·log σ(β·h) − ε·log σ(−β·h) (Rafailov et al. 2023, eq. 7; ε &gt;
 *       0 is conservative DPO for labels flipped with probability ε, Mitchell 2023; TRL {@code
 *       loss_type="sigmoid"}, {@code label_smoothing});
 *   <li>{@link #ipo}: (h − 1/(2β))², which stops pushing once the margin reaches 1/(2β) instead of
 *       driving it to infinity on deterministic preferences (Azar et al. 2023; TRL {@code
 *       loss_type="ipo"}; TRL averages IPO's log-probs over tokens, here they are summed like
 *       DPO's).
 * </ul>
 *
 * Shapes: {@code chosen}, {@code rejected}, {@code chosenRef}, {@code rejectedRef} are (P) sequence
 * log-probs; the reference ones carry no gradient. Losses are means over the P pairs, or weighted
 * means when (P) {@code weights} are given (offline DPO gives each ranked group's pairs 1 / their
 * count, so that a group counts once whatever its size, as InstructGPT's reward model loss does).
 */
public final class DpoLoss {

  private DpoLoss() {}

  /**
   * @param loss scalar loss (to minimise)
   * @param margin mean of h (nats): how much more the policy prefers the chosen response than the
   *     reference does
   * @param accuracy share of pairs with h &gt; 0 (TRL's {@code rewards/accuracies})
   */
  public record Result(NDArray loss, NDArray margin, NDArray accuracy) {}

  /** (P) sequence log-probs from (B, T-1) action log-probs that are already zero off the mask. */
  public static NDArray sequenceLogProbs(NDArray actionLogProbs) {
    return actionLogProbs.sum(new int[] {1});
  }

  public static Result sigmoid(
      NDArray chosen,
      NDArray rejected,
      NDArray chosenRef,
      NDArray rejectedRef,
      float beta,
      float labelSmoothing) {
    return sigmoid(chosen, rejected, chosenRef, rejectedRef, beta, labelSmoothing, null);
  }

  /**
   * {@link #sigmoid} as a weighted mean; {@code weights} (P), non-negative, null for the plain
   * mean.
   */
  public static Result sigmoid(
      NDArray chosen,
      NDArray rejected,
      NDArray chosenRef,
      NDArray rejectedRef,
      float beta,
      float labelSmoothing,
      NDArray weights) {
    if (beta <= 0 || labelSmoothing < 0 || labelSmoothing >= 0.5f) {
      throw new IllegalArgumentException("need beta > 0 and label smoothing in [0, 0.5)");
    }
    NDArray h = logRatioMargin(chosen, rejected, chosenRef, rejectedRef);
    NDArray z = h.mul(beta);
    // −log σ(z) = softplus(−z) = max(−z, 0) + log(1 + exp(−|z|)), stable for any z
    NDArray lossPos = softplus(z.neg());
    NDArray loss =
        labelSmoothing == 0f
            ? lossPos
            : lossPos.mul(1f - labelSmoothing).add(softplus(z).mul(labelSmoothing));
    return result(loss, h, weights);
  }

  public static Result ipo(
      NDArray chosen, NDArray rejected, NDArray chosenRef, NDArray rejectedRef, float beta) {
    return ipo(chosen, rejected, chosenRef, rejectedRef, beta, null);
  }

  /**
   * {@link #ipo} as a weighted mean; {@code weights} (P), non-negative, null for the plain mean.
   */
  public static Result ipo(
      NDArray chosen,
      NDArray rejected,
      NDArray chosenRef,
      NDArray rejectedRef,
      float beta,
      NDArray weights) {
    if (beta <= 0) {
      throw new IllegalArgumentException("need beta > 0");
    }
    NDArray h = logRatioMargin(chosen, rejected, chosenRef, rejectedRef);
    return result(h.sub(1f / (2f * beta)).square(), h, weights);
  }

  private static NDArray logRatioMargin(
      NDArray chosen, NDArray rejected, NDArray chosenRef, NDArray rejectedRef) {
    return chosen.sub(chosenRef.stopGradient()).sub(rejected.sub(rejectedRef.stopGradient()));
  }

  private static NDArray softplus(NDArray x) {
    return x.maximum(0f).add(x.abs().neg().exp().add(1f).log());
  }

  private static Result result(NDArray perPair, NDArray h, NDArray weights) {
    NDArray stopped = h.stopGradient();
    NDArray correct = stopped.gt(0f).toType(DataType.FLOAT32, false);
    if (weights == null) {
      return new Result(perPair.mean(), stopped.mean(), correct.mean());
    }
    NDArray w = weights.stopGradient().div(weights.sum());
    return new Result(perPair.mul(w).sum(), stopped.mul(w).sum(), correct.mul(w).sum());
  }
}
