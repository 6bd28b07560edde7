package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.util.List;

/**
 * A {@link Gpt} trunk with a head: the common part of {@link PolicyModel}, {@link RewardModel} and
 * {@link ValueModel}.
 *
 * <p>A model owns its parameters in its own NDManager (a sub-manager of the one it was created or
 * loaded with, hence on that manager's device) and frees them on {@link #close()}. Forward passes
 * allocate in the manager of their input arrays; run each training step or request in a sub-manager
 * ({@link InferenceSession}, {@link Learner}) so that activations are freed promptly.
 *
 * <p>After construction parameters are read-only unless a {@link Learner} updates them, so one
 * model can serve many threads at once (each with grad mode off, see {@link InferenceMode}).
 */
public abstract sealed class GptModel extends ParameterBlock implements AutoCloseable
    permits PolicyModel, RewardModel, ValueModel {

  protected final GptConfig config;
  protected final Gpt trunk;
  private NDManager manager;

  GptModel(GptConfig config) {
    this.config = config;
    this.trunk = addChildBlock("trunk", new Gpt(config));
  }

  /**
   * A new model of {@code kind} with freshly initialised parameters on {@code manager}'s device.
   */
  public static GptModel create(ModelKind kind, GptConfig config, NDManager manager) {
    GptModel model = unallocated(kind, config);
    model.allocate(manager);
    return model;
  }

  static GptModel unallocated(ModelKind kind, GptConfig config) {
    return switch (kind) {
      case POLICY -> new PolicyModel(config);
      case REWARD -> new RewardModel(config);
      case VALUE -> new ValueModel(config);
    };
  }

  /**
   * Initialises parameters in a new sub-manager of {@code parent} (seed via {@code
   * Engine#setRandomSeed}).
   */
  final void allocate(NDManager parent) {
    manager = parent.newSubManager();
    initialize(manager, DataType.FLOAT32, new Shape(1, config.contextLength()));
  }

  /** Takes ownership of {@code owner}, into which parameters were just loaded. */
  final void adoptLoaded(NDManager owner) {
    manager = owner;
    // Parameter.load replaces arrays without re-enabling gradients; initialize() only does that
    // now.
    initialize(manager, DataType.FLOAT32, new Shape(1, config.contextLength()));
  }

  public abstract ModelKind kind();

  public GptConfig config() {
    return config;
  }

  public Gpt trunk() {
    return trunk;
  }

  /** The manager that owns the parameters; open request/step sub-managers from it. */
  public NDManager manager() {
    return manager;
  }

  /** Number of scalars in all parameters. */
  public long parameterCount() {
    long count = 0;
    for (Pair<String, Parameter> p : getParameters()) {
      count += p.getValue().getShape().size();
    }
    return count;
  }

  /**
   * Overwrites this model's trunk with a copy of {@code source}'s (the head is kept). InstructGPT
   * initialises the PPO value function from the reward model this way, and the reward model from
   * the SFT policy. The shapes must match; dropout may differ.
   */
  public void copyTrunkFrom(GptModel source) {
    if (!config.sameTrunkShape(source.config)) {
      throw new IllegalArgumentException("trunk shapes differ: " + config + " vs " + source.config);
    }
    List<Parameter> from = source.trunk.getParameters().values();
    List<Parameter> to = trunk.getParameters().values();
    try (InferenceMode ignored = InferenceMode.enter()) {
      for (int i = 0; i < to.size(); i++) {
        NDArray target = to.get(i).getArray();
        // clone on the source's device, move to ours, then swap the storage into our array
        NDArray copy = from.get(i).getArray().duplicate();
        NDArray moved = copy.toDevice(target.getDevice(), false);
        target.intern(moved);
        if (moved != copy) {
          copy.close();
        }
        target.setRequiresGradient(to.get(i).requiresGradient());
      }
    }
  }

  /** Freezes ({@code false}) or unfreezes every parameter; frozen ones get no gradient. */
  public void setTrainable(boolean trainable) {
    for (Parameter p : getParameters().values()) {
      p.freeze(!trainable);
    }
  }

  /** Freezes or unfreezes the trunk only (e.g. to train a head on top of a fixed trunk). */
  public void setTrunkTrainable(boolean trainable) {
    for (Parameter p : trunk.getParameters().values()) {
      p.freeze(!trainable);
    }
  }

  /** The head's output for {@code tokens}: logits, scores or values depending on the kind. */
  public abstract NDArray apply(NDArray tokens, NDArray paddingMask, boolean training);

  @Override
  protected NDList forwardInternal(
      ParameterStore parameterStore,
      NDList inputs,
      boolean training,
      PairList<String, Object> params) {
    return new NDList(apply(inputs.get(0), inputs.size() > 1 ? inputs.get(1) : null, training));
  }

  @Override
  public void close() {
    if (manager != null) {
      manager.close();
    }
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + config + ", " + parameterCount() + " parameters]";
  }
}
