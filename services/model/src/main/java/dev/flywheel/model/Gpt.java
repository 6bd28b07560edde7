package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * The GPT trunk (Radford et al. 2019, laid out like Karpathy's nanoGPT): token + learned position
 * embeddings, pre-LayerNorm blocks of causal multi-head self-attention and a 4x GELU MLP, a final
 * LayerNorm. It returns hidden states (B, T, dModel); the heads that read them are {@link
 * PolicyModel} (next-token logits), {@link RewardModel} and {@link ValueModel}.
 *
 * <p><b>Padding.</b> {@link #forward} takes a (B, T) mask, 1 for real tokens and 0 for padding.
 * Padded keys are never attended to and a token's position is the number of real tokens before it,
 * so a padded row computes what it would alone. Left padding suits generation (every row's next
 * token goes in the same slot), right padding suits training. Outputs at padded slots are garbage.
 *
 * <p><b>KV cache.</b> Pass a {@link KvCache} (from {@link #newCache}) and the forward runs over the
 * new tokens only, attending to the keys and values cached by earlier calls, and appends its own.
 *
 * <p><b>Memory.</b> DJL attaches an op's result to the NDManager of the array the op is called on.
 * All activations are derived from {@code tokens}, so they belong to the caller's (per-step)
 * manager; parameters and cached arrays are only ever passed as arguments, never used as receivers,
 * so nothing accumulates in the model's or the cache's manager.
 */
public final class Gpt extends ParameterBlock {

  /** GPT-2 initialisation: N(0, 0.02) for every weight. */
  static final double INIT_STD = 0.02;

  /** Added to attention scores of masked keys; exp() of it is exactly 0 in float32. */
  private static final float MASKED_SCORE = -1e9f;

  private static final float LAYER_NORM_EPS = 1e-5f;

  private final GptConfig config;
  private final Parameter tokenEmbedding;
  private final Parameter positionEmbedding;
  private final List<TransformerBlock> blocks = new ArrayList<>();
  private final Norm finalNorm;

  public Gpt(GptConfig config) {
    this.config = config;
    int d = config.dModel();
    tokenEmbedding = weight("token_embedding", new Shape(config.vocabSize(), d), INIT_STD);
    positionEmbedding =
        weight("position_embedding", new Shape(config.contextLength(), d), INIT_STD);
    for (int i = 0; i < config.layers(); i++) {
      blocks.add(addChildBlock("block" + i, new TransformerBlock(config)));
    }
    finalNorm = addChildBlock("final_norm", new Norm(d));
  }

  public GptConfig config() {
    return config;
  }

  /** The (vocab, dModel) token embedding; the policy's LM head reuses it (weight tying). */
  NDArray tokenEmbedding() {
    return value(tokenEmbedding);
  }

  /** An empty cache for generation; its arrays live in a sub-manager of {@code manager}. */
  public KvCache newCache(NDManager manager) {
    return new KvCache(manager, config.layers());
  }

  /**
   * Hidden states after the final LayerNorm.
   *
   * @param tokens (B, T) token ids, on the model's device; every array created here belongs to its
   *     manager
   * @param paddingMask (B, T), 1 for real tokens and 0 for padding; null means no padding
   * @param cache null, or a cache holding earlier tokens of the same rows: {@code tokens} then
   *     continue them, and the cache is extended with their keys and values
   * @param training enables dropout
   * @return (B, T, dModel)
   */
  public NDArray forward(NDArray tokens, NDArray paddingMask, KvCache cache, boolean training) {
    NDManager manager = tokens.getManager();
    long batch = tokens.getShape().get(0);
    int length = Math.toIntExact(tokens.getShape().get(1));
    int past = cache == null ? 0 : cache.length;
    if (past + length > config.contextLength()) {
      throw new IllegalArgumentException(
          "sequence of "
              + (past + length)
              + " tokens exceeds the context length "
              + config.contextLength());
    }
    NDArray mask =
        paddingMask == null
            ? manager.ones(new Shape(batch, length), DataType.INT64)
            : paddingMask.toType(DataType.INT64, false);

    // position = number of real tokens before this one in its row (padding does not count)
    NDArray realSoFar = mask.cumSum(1);
    if (cache != null && cache.tokenCount != null) {
      realSoFar = realSoFar.add(cache.tokenCount);
    }
    NDArray positions = realSoFar.sub(1).maximum(0);

    NDArray keyMask = mask.reshape(batch, 1, 1, length).gt(0);
    if (cache != null) {
      keyMask = cache.advance(mask, keyMask);
    }
    NDArray attentionBias = attentionBias(manager, keyMask, past, length);

    NDArray x = embed(tokens, tokenEmbedding).add(embed(positions, positionEmbedding));
    x = dropout(x, config.dropout(), training);
    for (int i = 0; i < blocks.size(); i++) {
      x = blocks.get(i).forward(x, attentionBias, cache, i, training);
    }
    return finalNorm.forward(x);
  }

  /**
   * (B, 1, T, past + T) additive attention bias: 0 where query i (slot past + i) may look at key
   * slot j, i.e. j <= past + i and key j is a real token; {@link #MASKED_SCORE} elsewhere.
   */
  private static NDArray attentionBias(NDManager manager, NDArray keyMask, int past, int length) {
    int keys = past + length;
    NDArray querySlot = manager.arange(past, keys).reshape(length, 1);
    NDArray keySlot = manager.arange(0, keys).reshape(1, keys);
    NDArray allowed = keySlot.lte(querySlot).logicalAnd(keyMask);
    return allowed.toType(DataType.FLOAT32, false).sub(1f).mul(-MASKED_SCORE);
  }

  private static NDArray embed(NDArray ids, Parameter table) {
    return Embedding.embedding(ids, value(table), SparseFormat.DENSE).singletonOrThrow();
  }

  static NDArray dropout(NDArray x, float rate, boolean training) {
    return training && rate > 0 ? Dropout.dropout(x, rate, true).singletonOrThrow() : x;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore parameterStore,
      NDList inputs,
      boolean training,
      PairList<String, Object> params) {
    return new NDList(
        forward(inputs.get(0), inputs.size() > 1 ? inputs.get(1) : null, null, training));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape tokens = inputShapes[0];
    return new Shape[] {new Shape(tokens.get(0), tokens.get(1), config.dModel())};
  }

  /** Pre-LN block: x + attention(norm(x)), then x + mlp(norm(x)). */
  private static final class TransformerBlock extends ParameterBlock {
    private final GptConfig config;
    private final Norm attentionNorm;
    private final Parameter qkvWeight;
    private final Parameter qkvBias;
    private final Parameter attentionOutWeight;
    private final Parameter attentionOutBias;
    private final Norm mlpNorm;
    private final Parameter mlpInWeight;
    private final Parameter mlpInBias;
    private final Parameter mlpOutWeight;
    private final Parameter mlpOutBias;

    TransformerBlock(GptConfig config) {
      this.config = config;
      int d = config.dModel();
      // GPT-2: projections that write into the residual stream get std 0.02/sqrt(2 * layers),
      // so the residual's variance does not grow with depth.
      double residualStd = INIT_STD / Math.sqrt(2.0 * config.layers());
      attentionNorm = addChildBlock("attention_norm", new Norm(d));
      qkvWeight = weight("qkv_weight", new Shape(3L * d, d), INIT_STD);
      qkvBias = zeros("qkv_bias", new Shape(3L * d));
      attentionOutWeight = weight("attention_out_weight", new Shape(d, d), residualStd);
      attentionOutBias = zeros("attention_out_bias", new Shape(d));
      mlpNorm = addChildBlock("mlp_norm", new Norm(d));
      mlpInWeight = weight("mlp_in_weight", new Shape(4L * d, d), INIT_STD);
      mlpInBias = zeros("mlp_in_bias", new Shape(4L * d));
      mlpOutWeight = weight("mlp_out_weight", new Shape(d, 4L * d), residualStd);
      mlpOutBias = zeros("mlp_out_bias", new Shape(d));
    }

    NDArray forward(NDArray x, NDArray attentionBias, KvCache cache, int layer, boolean training) {
      x = x.add(attention(attentionNorm.forward(x), attentionBias, cache, layer, training));
      return x.add(mlp(mlpNorm.forward(x), training));
    }

    private NDArray attention(NDArray x, NDArray bias, KvCache cache, int layer, boolean training) {
      long batch = x.getShape().get(0);
      long length = x.getShape().get(1);
      NDList qkv = linear(x, qkvWeight, qkvBias).split(3, 2);
      NDArray q = splitHeads(qkv.get(0)); // (B, H, T, hs)
      NDArray keysT = splitHeads(qkv.get(1)).transpose(0, 1, 3, 2); // (B, H, hs, T)
      NDArray values = splitHeads(qkv.get(2)); // (B, H, T, hs)
      if (cache != null) {
        keysT = cache.keysT[layer] = cache.append(cache.keysT[layer], keysT, 3);
        values = cache.values[layer] = cache.append(cache.values[layer], values, 2);
      }
      NDArray scores = q.matMul(keysT).mul(1.0 / Math.sqrt(config.headSize())).add(bias);
      NDArray weights = dropout(scores.softmax(3), config.dropout(), training);
      NDArray heads = weights.matMul(values); // (B, H, T, hs)
      NDArray merged = heads.transpose(0, 2, 1, 3).reshape(batch, length, config.dModel());
      return dropout(
          linear(merged, attentionOutWeight, attentionOutBias), config.dropout(), training);
    }

    private NDArray mlp(NDArray x, boolean training) {
      NDArray hidden = Activation.gelu(linear(x, mlpInWeight, mlpInBias));
      return dropout(linear(hidden, mlpOutWeight, mlpOutBias), config.dropout(), training);
    }

    /** (B, T, dModel) to (B, heads, T, headSize). */
    private NDArray splitHeads(NDArray x) {
      long batch = x.getShape().get(0);
      long length = x.getShape().get(1);
      return x.reshape(batch, length, config.heads(), config.headSize()).transpose(0, 2, 1, 3);
    }
  }

  /** LayerNorm over the last axis only (DJL's LayerNorm block would normalise over T as well). */
  static final class Norm extends ParameterBlock {
    private final Shape normalizedShape;
    private final Parameter gain;
    private final Parameter shift;

    Norm(int size) {
      normalizedShape = new Shape(size);
      gain = ones("gain", normalizedShape);
      shift = zeros("shift", normalizedShape);
    }

    NDArray forward(NDArray x) {
      return LayerNorm.layerNorm(x, normalizedShape, value(gain), value(shift), LAYER_NORM_EPS)
          .singletonOrThrow();
    }
  }

  static NDArray linear(NDArray x, Parameter weight, Parameter bias) {
    return Linear.linear(x, value(weight), value(bias)).singletonOrThrow();
  }

  /**
   * Keys and values of the tokens seen so far, per layer, for incremental decoding. Holds one batch
   * of rows; create it with {@link Gpt#newCache}, feed every forward of that batch through it, and
   * close it when done. Not thread-safe.
   */
  public static final class KvCache implements AutoCloseable {
    private final NDManager manager;

    /** Keys stored transposed, (B, H, headSize, slots), ready for q @ k^T. */
    private final NDArray[] keysT;

    private final NDArray[] values;

    /** (B, 1, 1, slots) true for real tokens. */
    private NDArray keyMask;

    /** (B, 1) real tokens per row so far: the next token's position. */
    private NDArray tokenCount;

    private int length;

    private KvCache(NDManager parent, int layers) {
      manager = parent.newSubManager();
      keysT = new NDArray[layers];
      values = new NDArray[layers];
    }

    /** Slots filled so far (padding included). */
    public int length() {
      return length;
    }

    /** Records new tokens (their (B, T) mask); returns the (B, 1, 1, slots) mask of all keys. */
    private NDArray advance(NDArray mask, NDArray newKeyMask) {
      NDArray newTokens = mask.sum(new int[] {1}, true);
      tokenCount = replace(tokenCount, tokenCount == null ? newTokens : newTokens.add(tokenCount));
      keyMask = append(keyMask, newKeyMask, 3);
      length += Math.toIntExact(mask.getShape().get(1));
      return keyMask;
    }

    /** {@code cached} extended with {@code fresh} along {@code axis}; the old array is freed. */
    private NDArray append(NDArray cached, NDArray fresh, int axis) {
      return replace(cached, cached == null ? fresh : cached.concat(fresh, axis));
    }

    /**
     * Keeps {@code current} in the cache's manager in place of {@code previous}, which is freed.
     */
    private NDArray replace(NDArray previous, NDArray current) {
      current.attach(manager);
      if (previous != null) {
        previous.close();
      }
      return current;
    }

    @Override
    public void close() {
      manager.close();
    }
  }
}
