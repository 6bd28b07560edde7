package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import java.util.List;

/**
 * The reward model r(x, y): a {@link Gpt} trunk and a linear scalar head read at the last real
 * (non-padding) token of each row. Feed it prompt + response + EOS, so that the score is read at
 * the end-of-turn token that has seen the whole exchange (InstructGPT §3.5; Stiennon et al. 2020).
 */
public final class RewardModel extends GptModel {

  private final Parameter headWeight;
  private final Parameter headBias;

  RewardModel(GptConfig config) {
    super(config);
    // std 1/sqrt(d + 1) as OpenAI's lm-human-preferences initialises its reward head
    headWeight =
        weight(
            "head_weight", new Shape(1, config.dModel()), 1.0 / Math.sqrt(config.dModel() + 1.0));
    headBias = zeros("head_bias", new Shape(1));
  }

  /** A new reward model with freshly initialised parameters on {@code manager}'s device. */
  public static RewardModel create(GptConfig config, NDManager manager) {
    return (RewardModel) GptModel.create(ModelKind.REWARD, config, manager);
  }

  @Override
  public ModelKind kind() {
    return ModelKind.REWARD;
  }

  /** (B,) scores, each read at the last real token of its row (works for left or right padding). */
  public NDArray scores(NDArray tokens, NDArray paddingMask, boolean training) {
    return scoresFromHidden(
        trunk.forward(tokens, paddingMask, null, training), tokens, paddingMask);
  }

  /**
   * The scores and (B, T, vocab) next-token logits from one pass of the trunk. The logits go
   * through the token embedding, as the policy's tied head does, so the reward model's hidden
   * states can be kept fit for language modelling while the head learns the preferences: the
   * regulariser of Yang et al. 2024 ("Regularizing hidden states enables learning generalizable
   * reward model for LLMs", the SFT variant).
   */
  public NDList scoresAndLogits(NDArray tokens, NDArray paddingMask, boolean training) {
    NDArray hidden = trunk.forward(tokens, paddingMask, null, training);
    return new NDList(
        scoresFromHidden(hidden, tokens, paddingMask),
        Linear.linear(hidden, trunk.tokenEmbedding()).singletonOrThrow());
  }

  private NDArray scoresFromHidden(NDArray hidden, NDArray tokens, NDArray paddingMask) {
    NDArray perToken = Gpt.linear(hidden, headWeight, headBias).squeeze(2); // (B, T)
    return perToken.gather(lastRealIndex(tokens, paddingMask), 1).squeeze(1);
  }

  /** Scores of unpadded sequences, computed in inference mode (for serving and evaluation). */
  public float[] score(List<int[]> sequences) {
    try (InferenceSession session = InferenceSession.open(this)) {
      TokenBatch batch = TokenBatch.of(session.manager(), sequences, TokenBatch.Side.RIGHT);
      return scores(batch.tokens(), batch.mask(), false).toFloatArray();
    }
  }

  /** (B, 1) index of the last real token of each row: max over t of (t + 1) * mask[t], minus 1. */
  static NDArray lastRealIndex(NDArray tokens, NDArray paddingMask) {
    long batch = tokens.getShape().get(0);
    long length = tokens.getShape().get(1);
    if (paddingMask == null) {
      return tokens.getManager().full(new Shape(batch, 1), length - 1, DataType.INT64);
    }
    NDArray slots = tokens.getManager().arange(1, (int) length + 1).toType(DataType.INT64, false);
    NDArray lastPlusOne =
        paddingMask.toType(DataType.INT64, false).mul(slots).max(new int[] {1}, true);
    return lastPlusOne.sub(1).maximum(0);
  }

  @Override
  public NDArray apply(NDArray tokens, NDArray paddingMask, boolean training) {
    return scores(tokens, paddingMask, training);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {new Shape(inputShapes[0].get(0))};
  }
}
