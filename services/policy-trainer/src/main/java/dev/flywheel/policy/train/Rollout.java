package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.Generation;
import java.util.Arrays;
import java.util.List;

/**
 * A batch of PPO episodes laid out for training: every row is prompt + response, right-padded to
 * the batch's longest row (length T), with per-action tensors of shape (B, T-1) in the ML core's
 * action space ({@link dev.flywheel.model.PpoLosses}): action t chooses token t + 1.
 *
 * <p>Row r with a prompt of p tokens and a response of n tokens holds its response at token slots
 * [p, p + n) and its actions at [p - 1, p + n - 1): the action mask is 1 there and 0 on the prompt
 * and the padding. The behaviour log-probabilities (from {@link Generation#logProbs()}, log π at
 * temperature 1) sit at the same action slots.
 *
 * <p>Plain host arrays: build device tensors per minibatch with {@link #tokens}, {@link
 * #paddingMask}, {@link #actions}.
 */
public final class Rollout {

  private final int batch;
  private final int length;
  private final long[] tokens;
  private final long[] paddingMask;
  private final float[] actionMask;
  private final float[] behaviourLogProbs;
  private final int[] promptLengths;
  private final int[] responseLengths;
  private final boolean[] stopped;
  private final List<int[]> prompts;
  private final List<int[]> responses;

  private Rollout(
      List<int[]> prompts, List<int[]> responses, List<float[]> logProbs, boolean[] stopped) {
    this.batch = prompts.size();
    this.prompts = List.copyOf(prompts);
    this.responses = List.copyOf(responses);
    this.stopped = stopped;
    int max = 2;
    promptLengths = new int[batch];
    responseLengths = new int[batch];
    for (int r = 0; r < batch; r++) {
      promptLengths[r] = prompts.get(r).length;
      responseLengths[r] = responses.get(r).length;
      if (promptLengths[r] < 1) {
        throw new IllegalArgumentException("row " + r + " has an empty prompt");
      }
      max = Math.max(max, promptLengths[r] + responseLengths[r]);
    }
    length = max;
    tokens = new long[batch * length];
    paddingMask = new long[batch * length];
    actionMask = new float[batch * (length - 1)];
    behaviourLogProbs = new float[batch * (length - 1)];
    Arrays.fill(tokens, ByteTokenizer.PAD);
    for (int r = 0; r < batch; r++) {
      int[] p = prompts.get(r);
      int[] y = responses.get(r);
      float[] lp = logProbs.get(r);
      int base = r * length;
      for (int i = 0; i < p.length; i++) {
        tokens[base + i] = p[i];
        paddingMask[base + i] = 1;
      }
      for (int j = 0; j < y.length; j++) {
        tokens[base + p.length + j] = y[j];
        paddingMask[base + p.length + j] = 1;
        int action = r * (length - 1) + p.length + j - 1;
        actionMask[action] = 1f;
        behaviourLogProbs[action] = lp == null ? 0f : lp[j];
      }
    }
  }

  /** Episodes from sampled generations (prompts and generations aligned by index). */
  public static Rollout of(List<int[]> prompts, List<Generation> generations) {
    if (prompts.size() != generations.size()) {
      throw new IllegalArgumentException(
          prompts.size() + " prompts but " + generations.size() + " generations");
    }
    boolean[] stopped = new boolean[prompts.size()];
    for (int i = 0; i < stopped.length; i++) {
      stopped[i] = generations.get(i).finishReason() == Generation.FinishReason.STOP;
    }
    return new Rollout(
        prompts,
        generations.stream().map(Generation::tokens).toList(),
        generations.stream().map(Generation::logProbs).toList(),
        stopped);
  }

  /** Episodes with given responses and log-probabilities ({@code logProbs} null: zeros). */
  public static Rollout of(List<int[]> prompts, List<int[]> responses, List<float[]> logProbs) {
    boolean[] stopped = new boolean[prompts.size()];
    for (int i = 0; i < stopped.length; i++) {
      int[] y = responses.get(i);
      stopped[i] = y.length > 0 && y[y.length - 1] == ByteTokenizer.EOS;
    }
    return new Rollout(
        prompts,
        responses,
        logProbs != null ? logProbs : prompts.stream().map(p -> (float[]) null).toList(),
        stopped);
  }

  /**
   * The same episodes with other "old" log-probabilities ((B·(T−1)) on the action slots, as {@link
   * #behaviourLogProbArray}): decoupled PPO's proximal policy for a stale batch.
   */
  public Rollout withOldLogProbs(float[] perAction) {
    if (perAction.length != behaviourLogProbs.length) {
      throw new IllegalArgumentException(
          perAction.length + " log-probs for " + behaviourLogProbs.length + " action slots");
    }
    List<float[]> rows = new java.util.ArrayList<>(batch);
    for (int r = 0; r < batch; r++) {
      float[] lp = new float[responseLengths[r]];
      for (int j = 0; j < lp.length; j++) {
        lp[j] = perAction[r * (length - 1) + promptLengths[r] + j - 1];
      }
      rows.add(lp);
    }
    return new Rollout(prompts, responses, rows, stopped.clone());
  }

  public int batchSize() {
    return batch;
  }

  /** T: tokens per row including padding. */
  public int length() {
    return length;
  }

  public List<int[]> prompts() {
    return prompts;
  }

  public List<int[]> responses() {
    return responses;
  }

  public int promptLength(int row) {
    return promptLengths[row];
  }

  /** Whether row's response ended with EOS (rather than at the length limit). */
  public boolean stopped(int row) {
    return stopped[row];
  }

  /** Share of rows whose response ended with EOS. */
  public double eosRate() {
    int eos = 0;
    for (boolean s : stopped) {
      eos += s ? 1 : 0;
    }
    return (double) eos / batch;
  }

  /** Total response tokens of the batch (the generated tokens). */
  public long responseTokens() {
    long n = 0;
    for (int len : responseLengths) {
      n += len;
    }
    return n;
  }

  /** (B·T) token ids, PAD-filled. */
  public long[] tokenArray() {
    return tokens;
  }

  /** (B·T) 1 on real tokens. */
  public long[] paddingMaskArray() {
    return paddingMask;
  }

  /** (B·(T-1)) 1 on the actions that produced response tokens. */
  public float[] actionMaskArray() {
    return actionMask;
  }

  /** (B·(T-1)) behaviour log π of each action, 0 off the mask. */
  public float[] behaviourLogProbArray() {
    return behaviourLogProbs;
  }

  // ---- minibatches ----

  /** Longest real row among {@code rows} (the length a minibatch can be trimmed to). */
  public int lengthOf(int[] rows) {
    int max = 2;
    for (int r : rows) {
      max = Math.max(max, promptLengths[r] + responseLengths[r]);
    }
    return max;
  }

  /** (rows, len) int64 token ids of {@code rows}, trimmed to {@code len} slots. */
  public NDArray tokens(NDManager manager, int[] rows, int len) {
    return manager.create(select(tokens, length, rows, len), new Shape(rows.length, len));
  }

  /** (rows, len) int64 padding mask. */
  public NDArray paddingMask(NDManager manager, int[] rows, int len) {
    return manager.create(select(paddingMask, length, rows, len), new Shape(rows.length, len));
  }

  /** (rows, len - 1) float32 slice of a per-action array of this rollout (B·(T-1)). */
  public NDArray actions(NDManager manager, float[] perAction, int[] rows, int len) {
    return manager.create(
        select(perAction, length - 1, rows, len - 1), new Shape(rows.length, len - 1));
  }

  /** Per-action array of shape (rows, len-1) scattered back into a (B·(T-1)) array. */
  public void scatterActions(float[] into, int[] rows, int len, float[] values) {
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(values, i * (len - 1), into, rows[i] * (length - 1), len - 1);
    }
  }

  static long[] select(long[] source, int width, int[] rows, int len) {
    long[] out = new long[rows.length * len];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(source, rows[i] * width, out, i * len, len);
    }
    return out;
  }

  static float[] select(float[] source, int width, int[] rows, int len) {
    float[] out = new float[rows.length * len];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(source, rows[i] * width, out, i * len, len);
    }
    return out;
  }
}
