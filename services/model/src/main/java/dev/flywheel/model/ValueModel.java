package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

/**
 * The PPO critic: a {@link Gpt} trunk and a linear head giving V(s_t) for every prefix s_t =
 * tokens[0..t]. InstructGPT initialises it from the reward model: {@link #copyTrunkFrom}.
 */
public final class ValueModel extends GptModel {

  private final Parameter headWeight;
  private final Parameter headBias;

  ValueModel(GptConfig config) {
    super(config);
    headWeight =
        weight(
            "head_weight", new Shape(1, config.dModel()), 1.0 / Math.sqrt(config.dModel() + 1.0));
    headBias = zeros("head_bias", new Shape(1));
  }

  /** A new value model with freshly initialised parameters on {@code manager}'s device. */
  public static ValueModel create(GptConfig config, NDManager manager) {
    return (ValueModel) GptModel.create(ModelKind.VALUE, config, manager);
  }

  @Override
  public ModelKind kind() {
    return ModelKind.VALUE;
  }

  /** (B, T) values; entry t estimates the return after seeing tokens 0..t. */
  public NDArray values(NDArray tokens, NDArray paddingMask, boolean training) {
    NDArray hidden = trunk.forward(tokens, paddingMask, null, training);
    return Gpt.linear(hidden, headWeight, headBias).squeeze(2);
  }

  @Override
  public NDArray apply(NDArray tokens, NDArray paddingMask, boolean training) {
    return values(tokens, paddingMask, training);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {new Shape(inputShapes[0].get(0), inputShapes[0].get(1))};
  }
}
