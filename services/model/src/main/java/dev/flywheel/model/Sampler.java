package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Autoregressive generation from a {@link PolicyModel}: batched over prompts of different lengths,
 * with a KV cache, temperature / top-k / top-p, stop on EOS.
 *
 * <p>Prompts are left-padded so that every row's next token goes into the same slot. The first step
 * runs the whole padded prompt through the model (prefill), filling the cache; each later step
 * feeds one token per row. Rows that have finished keep feeding masked padding until every row is
 * done.
 *
 * <p>Tokens are drawn on the host from each row's own random stream ({@link #rowSeed}), so a row's
 * output depends only on its prompt, its seed and the model: not on the rows it is batched with,
 * nor on whether the KV cache is used (up to float rounding in the logits).
 *
 * <p>Thread-safe: each call runs in inference mode in its own sub-manager of the policy's manager.
 */
public final class Sampler {

  private final PolicyModel policy;

  public Sampler(PolicyModel policy) {
    this.policy = policy;
  }

  /** The policy it samples from. */
  public PolicyModel policy() {
    return policy;
  }

  /**
   * Generates a continuation of every prompt; row i's random stream is seeded with {@code
   * rowSeed(config.seed(), i)}.
   */
  public List<Generation> generate(List<int[]> prompts, SamplingConfig config) {
    long[] seeds = new long[prompts.size()];
    for (int i = 0; i < seeds.length; i++) {
      seeds[i] = rowSeed(config.seed(), i);
    }
    return generate(prompts, config, seeds);
  }

  /**
   * Generates a continuation of every prompt, row i drawing from a stream seeded with {@code
   * rowSeeds[i]} (e.g. the per-request seed of a serving API); {@code config.seed()} is unused.
   */
  public List<Generation> generate(List<int[]> prompts, SamplingConfig config, long[] rowSeeds) {
    int batch = prompts.size();
    if (rowSeeds.length != batch) {
      throw new IllegalArgumentException(batch + " prompts but " + rowSeeds.length + " seeds");
    }
    if (batch == 0) {
      return List.of();
    }
    int contextLength = policy.config().contextLength();
    int promptLength = 0;
    for (int[] prompt : prompts) {
      if (prompt.length == 0) {
        throw new IllegalArgumentException("empty prompt (start it with BOS)");
      }
      promptLength = Math.max(promptLength, prompt.length);
    }
    if (promptLength > contextLength) {
      throw new IllegalArgumentException(
          "prompt of " + promptLength + " tokens does not fit the context length " + contextLength);
    }
    int maxNew = Math.min(config.maxNewTokens(), contextLength - promptLength);

    long[][] slots = new long[batch][promptLength + maxNew];
    long[][] real = new long[batch][promptLength + maxNew];
    Row[] rows = new Row[batch];
    for (int r = 0; r < batch; r++) {
      int[] prompt = prompts.get(r);
      int offset = promptLength - prompt.length;
      Arrays.fill(slots[r], ByteTokenizer.PAD);
      for (int i = 0; i < prompt.length; i++) {
        slots[r][offset + i] = prompt[i];
        real[r][offset + i] = 1;
      }
      rows[r] = new Row(maxNew, rowSeeds[r]);
    }

    try (InferenceMode ignored = InferenceMode.enter();
        NDManager manager = policy.manager().newSubManager();
        Gpt.KvCache cache = config.useKvCache() ? policy.trunk().newCache(manager) : null) {
      int filled = promptLength;
      int active = batch;
      for (int step = 0; step < maxNew && active > 0; step++) {
        int from = cache == null ? 0 : cache.length();
        float[] logits = lastLogits(manager, cache, slots, real, from, filled);
        int vocab = logits.length / batch;
        for (int r = 0; r < batch; r++) {
          Row row = rows[r];
          boolean wasActive = !row.finished;
          if (wasActive) {
            int token = choose(logits, r * vocab, vocab, config, row.random);
            row.add(token, logSoftmaxAt(logits, r * vocab, vocab, token));
            if (config.stopOnEos() && token == ByteTokenizer.EOS) {
              row.finished = true;
              active--;
            }
          }
          boolean feeds = wasActive && !row.finished;
          slots[r][filled] = feeds ? row.tokens[row.count - 1] : ByteTokenizer.PAD;
          real[r][filled] = feeds ? 1 : 0;
        }
        filled++;
      }
    }

    List<Generation> out = new ArrayList<>(batch);
    for (Row row : rows) {
      out.add(
          new Generation(
              Arrays.copyOf(row.tokens, row.count),
              Arrays.copyOf(row.logProbs, row.count),
              row.finished ? Generation.FinishReason.STOP : Generation.FinishReason.LENGTH));
    }
    return out;
  }

  private float[] lastLogits(
      NDManager manager, Gpt.KvCache cache, long[][] slots, long[][] real, int from, int filled) {
    return lastLogits(policy, manager, cache, slots, real, from, filled);
  }

  /**
   * One decode step for a batch: runs slots [from, filled) of every row through {@code policy} with
   * the KV cache and returns the (B * vocab) logits at the last filled slot. {@code real} marks
   * real tokens (1) and padding (0). Shared with serving's per-row decoder.
   */
  public static float[] lastLogits(
      PolicyModel policy,
      NDManager manager,
      Gpt.KvCache cache,
      long[][] slots,
      long[][] real,
      int from,
      int filled) {
    try (NDManager step = manager.newSubManager()) {
      int batch = slots.length;
      int length = filled - from;
      NDArray tokens = step.create(window(slots, from, filled), new Shape(batch, length));
      NDArray mask = step.create(window(real, from, filled), new Shape(batch, length));
      NDArray hidden = policy.trunk().forward(tokens, mask, cache, false);
      NDArray last = hidden.get(":, {}:, :", length - 1);
      return policy.logitsFromHidden(last).toFloatArray();
    }
  }

  private static long[] window(long[][] rows, int from, int to) {
    int length = to - from;
    long[] flat = new long[rows.length * length];
    for (int r = 0; r < rows.length; r++) {
      System.arraycopy(rows[r], from, flat, r * length, length);
    }
    return flat;
  }

  /** Picks a token from {@code logits[offset, offset + vocab)} according to {@code config}. */
  static int choose(
      float[] logits, int offset, int vocab, SamplingConfig config, SplittableRandom random) {
    return choose(
        logits, offset, vocab, config.temperature(), config.topK(), config.topP(), random);
  }

  /**
   * Picks a token from {@code logits[offset, offset + vocab)}: greedy at temperature 0, else top-k
   * then top-p (nucleus) sampling at {@code temperature} (top-k 0 = off, top-p 1 = off; top-p 0
   * keeps only the most likely token). One draw from {@code random} per call, so seeded rows are
   * reproducible.
   */
  public static int choose(
      float[] logits,
      int offset,
      int vocab,
      float temperature,
      int topK,
      float topP,
      SplittableRandom random) {
    if (temperature == 0f) {
      int best = 0;
      for (int v = 1; v < vocab; v++) {
        if (logits[offset + v] > logits[offset + best]) {
          best = v;
        }
      }
      return best;
    }
    Integer[] order = new Integer[vocab];
    for (int v = 0; v < vocab; v++) {
      order[v] = v;
    }
    // most likely first; ties keep the lower id first (stable sort)
    Arrays.sort(order, Comparator.comparingDouble((Integer v) -> -logits[offset + v]));
    int keep = topK > 0 ? Math.min(topK, vocab) : vocab;
    double max = logits[offset + order[0]];
    double[] weights = new double[keep];
    double total = 0;
    for (int i = 0; i < keep; i++) {
      weights[i] = Math.exp((logits[offset + order[i]] - max) / temperature);
      total += weights[i];
    }
    if (topP < 1f) {
      double cumulative = 0;
      int nucleus = 0;
      while (nucleus < keep) {
        cumulative += weights[nucleus++];
        if (cumulative >= topP * total) {
          break;
        }
      }
      keep = nucleus;
      total = cumulative;
    }
    double u = random.nextDouble() * total;
    for (int i = 0; i < keep; i++) {
      u -= weights[i];
      if (u < 0) {
        return order[i];
      }
    }
    return order[keep - 1];
  }

  /** log softmax(logits)[token], in double precision. */
  static float logSoftmaxAt(float[] logits, int offset, int vocab, int token) {
    double max = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) {
      max = Math.max(max, logits[offset + v]);
    }
    double sum = 0;
    for (int v = 0; v < vocab; v++) {
      sum += Math.exp(logits[offset + v] - max);
    }
    return (float) (logits[offset + token] - max - Math.log(sum));
  }

  /**
   * The seed of row {@code row}'s random stream when a whole batch shares one seed. Public so that
   * a caller can reproduce one row of a batch on its own.
   */
  public static long rowSeed(long seed, int row) {
    return mix64(mix64(seed) + row);
  }

  /** SplitMix64's finaliser: nearby inputs give unrelated outputs. */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** Output accumulated for one prompt. */
  private static final class Row {
    final int[] tokens;
    final float[] logProbs;
    final SplittableRandom random;
    int count;
    boolean finished;

    Row(int capacity, long seed) {
      tokens = new int[capacity];
      logProbs = new float[capacity];
      random = new SplittableRandom(seed);
    }

    void add(int token, float logProb) {
      tokens[count] = token;
      logProbs[count++] = logProb;
    }
  }
}
