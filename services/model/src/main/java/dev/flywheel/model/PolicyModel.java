package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

/**
 * The policy: a {@link Gpt} trunk and a language-model head giving next-token logits. The head is
 * tied to the token embedding (GPT-2; Press &amp; Wolf 2017), so it adds no parameters and the
 * whole policy is its trunk.
 */
public final class PolicyModel extends GptModel {

  PolicyModel(GptConfig config) {
    super(config);
  }

  /** A new policy with freshly initialised parameters on {@code manager}'s device. */
  public static PolicyModel create(GptConfig config, NDManager manager) {
    return (PolicyModel) GptModel.create(ModelKind.POLICY, config, manager);
  }

  @Override
  public ModelKind kind() {
    return ModelKind.POLICY;
  }

  /** (B, T, vocab) logits; position t scores the token at t + 1. */
  public NDArray logits(NDArray tokens, NDArray paddingMask, boolean training) {
    return logitsFromHidden(trunk.forward(tokens, paddingMask, null, training));
  }

  /** Logits for new tokens continuing the rows held in {@code cache} (inference). */
  public NDArray logits(NDArray tokens, NDArray paddingMask, Gpt.KvCache cache) {
    return logitsFromHidden(trunk.forward(tokens, paddingMask, cache, false));
  }

  /** The LM head alone: (..., dModel) hidden states to (..., vocab) logits. */
  public NDArray logitsFromHidden(NDArray hidden) {
    return Linear.linear(hidden, trunk.tokenEmbedding()).singletonOrThrow();
  }

  @Override
  public NDArray apply(NDArray tokens, NDArray paddingMask, boolean training) {
    return logits(tokens, paddingMask, training);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape tokens = inputShapes[0];
    return new Shape[] {new Shape(tokens.get(0), tokens.get(1), config.vocabSize())};
  }
}
