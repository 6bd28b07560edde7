package dev.flywheel.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Applies optimizer steps to one or more models: forward and backward in a {@link
 * GradientCollector}, gradient clipping by global norm, AdamW with a learning-rate schedule. No DJL
 * {@code Trainer}: a training loop is a plain loop around {@link #step}.
 *
 * <pre>{@code
 * Learner learner = new Learner(OptimizerConfig.adamW(LearningRateSchedule.cosine(3e-4f, 100, 5000)), policy);
 * for (...) {
 *     Learner.StepResult r = learner.step((sm, micro) -> {
 *         TokenBatch batch = TokenBatch.of(sm, sequences, TokenBatch.Side.RIGHT);
 *         return SftLoss.loss(policy.logits(batch.tokens(), batch.mask(), true), batch.tokens(), lossMask);
 *     });
 * }
 * }</pre>
 *
 * <p>Every micro-batch runs in its own sub-manager of the first model's manager, closed when it is
 * done, so create the step's inputs from the manager passed to the loss function.
 *
 * <p>PyTorch through DJL allows only one GradientCollector per JVM at a time; steps of all Learners
 * in the JVM are therefore serialised on one lock (two trainers in one process take turns instead
 * of failing). Frozen parameters ({@link GptModel#setTrainable}) are left alone. Optimizer state is
 * in memory only: it is not part of model artifacts.
 */
public final class Learner {

  /** Loss of one micro-batch; arrays it creates must come from {@code stepManager}. */
  @FunctionalInterface
  public interface LossFunction {
    NDArray loss(NDManager stepManager, int microBatch);
  }

  /**
   * @param step number of updates applied so far, this one included
   * @param loss mean of the micro-batch losses
   * @param gradNorm global L2 norm of the gradient before clipping
   * @param learningRate the rate this update used
   * @param skipped true if the gradient was not finite and no update was applied
   */
  public record StepResult(
      long step, float loss, float gradNorm, float learningRate, boolean skipped) {}

  private static final ReentrantLock GRADIENT_LOCK = new ReentrantLock(true);

  private final List<GptModel> models;
  private final OptimizerConfig config;
  private final Optimizer decayed;
  private final Optimizer notDecayed;
  private long step;

  public Learner(OptimizerConfig config, GptModel... models) {
    if (models.length == 0) {
      throw new IllegalArgumentException("nothing to train");
    }
    this.models = List.of(models);
    this.config = config;
    ParameterTracker learningRate = (parameterId, numUpdate) -> config.schedule().at(step);
    decayed = adamW(config, learningRate, config.weightDecay());
    notDecayed = adamW(config, learningRate, 0f);
  }

  private static Optimizer adamW(
      OptimizerConfig config, ParameterTracker learningRate, float weightDecay) {
    return Optimizer.adamW()
        .optLearningRateTracker(learningRate)
        .optBeta1(config.beta1())
        .optBeta2(config.beta2())
        .optEpsilon(config.epsilon())
        .optWeightDecays(weightDecay)
        .build();
  }

  /** Updates applied so far. */
  public long steps() {
    return step;
  }

  /** One optimizer update from {@code config.microBatches()} calls of {@code lossFunction}. */
  public StepResult step(LossFunction lossFunction) {
    GRADIENT_LOCK.lock();
    try {
      List<Parameter> parameters = trainableParameters();
      zeroGradients(parameters); // leftovers of a step that failed between backward and update
      int microBatches = config.microBatches();
      NDManager parent = models.get(0).manager();
      double lossSum = 0;
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        for (int i = 0; i < microBatches; i++) {
          try (NDManager stepManager = parent.newSubManager()) {
            NDArray loss = lossFunction.loss(stepManager, i);
            collector.backward(microBatches == 1 ? loss : loss.div(microBatches));
            lossSum += loss.getFloat();
          }
        }
      }
      return update(parameters, (float) (lossSum / microBatches));
    } finally {
      GRADIENT_LOCK.unlock();
    }
  }

  private StepResult update(List<Parameter> parameters, float loss) {
    try (InferenceMode ignored = InferenceMode.enter();
        NDManager updateManager = models.get(0).manager().newSubManager()) {
      List<NDArray> gradients = new ArrayList<>(parameters.size());
      NDArray squares = null;
      for (Parameter p : parameters) {
        NDArray gradient = p.getArray().getGradient();
        gradient.attach(updateManager);
        gradients.add(gradient);
        NDArray square = gradient.square().sum();
        squares = squares == null ? square : squares.add(square);
      }
      float norm = squares == null ? 0f : (float) Math.sqrt(squares.getFloat());
      if (!Float.isFinite(norm)) {
        zeroGradients(parameters);
        return new StepResult(step, loss, norm, config.schedule().at(step + 1), true);
      }
      if (config.maxGradNorm() > 0 && norm > config.maxGradNorm()) {
        float scale = config.maxGradNorm() / (norm + 1e-6f);
        for (NDArray gradient : gradients) {
          gradient.muli(scale);
        }
      }
      step++;
      for (int i = 0; i < parameters.size(); i++) {
        Parameter p = parameters.get(i);
        // AdamW zeroes the gradient after updating the weight
        optimizerFor(p).update(p.getId(), p.getArray(), gradients.get(i));
      }
      return new StepResult(step, loss, norm, config.schedule().at(step), false);
    }
  }

  /**
   * Matrices and embeddings get weight decay; biases and LayerNorm gains/shifts do not (nanoGPT).
   */
  private Optimizer optimizerFor(Parameter p) {
    return p.getShape().dimension() >= 2 ? decayed : notDecayed;
  }

  /** Parameters of all models that currently require a gradient. */
  public List<Parameter> trainableParameters() {
    List<Parameter> out = new ArrayList<>();
    for (GptModel model : models) {
      for (Parameter p : model.getParameters().values()) {
        if (p.requiresGradient()) {
          out.add(p);
        }
      }
    }
    return out;
  }

  private static void zeroGradients(List<Parameter> parameters) {
    for (Parameter p : parameters) {
      if (p.getArray().hasGradient()) {
        JniUtils.zeroGrad((PtNDArray) p.getArray());
      }
    }
  }
}
