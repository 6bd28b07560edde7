package dev.flywheel.model;

/**
 * AdamW settings for {@link Learner}.
 *
 * @param schedule learning rate per step
 * @param beta1 Adam β1 (InstructGPT: 0.9)
 * @param beta2 Adam β2 (InstructGPT and GPT-3: 0.95)
 * @param epsilon Adam ε (1e-8, the usual default)
 * @param weightDecay decoupled weight decay (Loshchilov &amp; Hutter 2019) applied to matrices and
 *     embeddings only, not to biases or LayerNorm parameters (GPT-3 and nanoGPT: 0.1)
 * @param maxGradNorm clip the global gradient L2 norm to this (GPT-3 and nanoGPT: 1.0); 0 disables
 * @param microBatches gradient accumulation: a {@link Learner#step} sums gradients of this many
 *     micro-batch losses, each scaled by 1/microBatches, before one update
 */
public record OptimizerConfig(
    LearningRateSchedule schedule,
    float beta1,
    float beta2,
    float epsilon,
    float weightDecay,
    float maxGradNorm,
    int microBatches) {

  public OptimizerConfig {
    if (schedule == null) {
      throw new IllegalArgumentException("schedule is required");
    }
    if (beta1 < 0
        || beta1 >= 1
        || beta2 < 0
        || beta2 >= 1
        || epsilon <= 0
        || weightDecay < 0
        || maxGradNorm < 0
        || microBatches < 1) {
      throw new IllegalArgumentException("invalid optimizer settings");
    }
  }

  /** The defaults above with the given schedule and no gradient accumulation. */
  public static OptimizerConfig adamW(LearningRateSchedule schedule) {
    return new OptimizerConfig(schedule, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 1);
  }

  public OptimizerConfig withWeightDecay(float value) {
    return new OptimizerConfig(schedule, beta1, beta2, epsilon, value, maxGradNorm, microBatches);
  }

  public OptimizerConfig withMaxGradNorm(float value) {
    return new OptimizerConfig(schedule, beta1, beta2, epsilon, weightDecay, value, microBatches);
  }

  public OptimizerConfig withMicroBatches(int value) {
    return new OptimizerConfig(schedule, beta1, beta2, epsilon, weightDecay, maxGradNorm, value);
  }
}
