package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

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

  /**
   * A (B, {@code length}) loss mask for right-padded {@code sequences}: 1 at the tokens of the last
   * assistant turn (after its ASSISTANT marker, EOS included) of the rows in {@code rows}, 0
   * elsewhere. For sequences encoded as prompt + response + EOS (the reward model's input), so that
   * a next-token loss can be put on chosen responses without re-encoding them; a row whose marker
   * was cut off by left truncation counts from its first token.
   */
  public static NDArray lastAssistantTurnMask(
      NDManager manager, List<int[]> sequences, Collection<Integer> rows, int length) {
    int[][] mask = new int[sequences.size()][length];
    for (int row : rows) {
      int[] tokens = sequences.get(row);
      int start = 0;
      for (int t = tokens.length - 1; t >= 0; t--) {
        if (tokens[t] == ByteTokenizer.ASSISTANT) {
          start = t + 1;
          break;
        }
      }
      Arrays.fill(mask[row], start, Math.min(length, tokens.length), 1);
    }
    return manager.create(mask);
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
