package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Supervised fine-tuning loss: next-token cross-entropy over the response tokens only.
 *
 * <p>Logits at position t predict the token at t + 1, so the loss pairs {@code logits[:, :-1]} with
 * {@code tokens[:, 1:]} and keeps the pairs whose target is marked in the loss mask ({@link
 * SftExample#lossMask()}: response tokens and their EOS). The mean is over all kept targets of the
 * batch (each token weighs the same, as in nanoGPT and HF transformers), not per row.
 */
public final class SftLoss {

  private SftLoss() {}

  /**
   * @param logits (B, T, vocab) from the policy on {@code tokens}
   * @param tokens (B, T) token ids
   * @param lossMask (B, T), 1 where the token is a target to learn
   * @return scalar mean negative log-likelihood of the masked targets (0 if there are none)
   */
  public static NDArray loss(NDArray logits, NDArray tokens, NDArray lossMask) {
    NDArray logProbs = nextTokenLogProbs(logits, tokens);
    NDArray mask = targets(lossMask).toType(DataType.FLOAT32, false);
    return logProbs.mul(mask).sum().neg().div(mask.sum().maximum(1f));
  }

  /** (B, T-1): entry t is log p(tokens[t+1] | tokens[0..t]). */
  public static NDArray nextTokenLogProbs(NDArray logits, NDArray tokens) {
    long length = tokens.getShape().get(1);
    NDArray predictions = logits.get(":, :{}, :", length - 1);
    return tokenLogProbs(predictions, targets(tokens));
  }

  /** (B, T): entry t is log softmax(logits[:, t])[targets[:, t]] (no shifting). */
  public static NDArray tokenLogProbs(NDArray logits, NDArray targets) {
    NDArray index = targets.toType(DataType.INT64, false).expandDims(2);
    return logits.logSoftmax(2).gather(index, 2).squeeze(2);
  }

  /** Drops the first slot: (B, T) to (B, T-1), aligned with next-token predictions. */
  static NDArray targets(NDArray perToken) {
    return perToken.get(":, 1:");
  }
}
