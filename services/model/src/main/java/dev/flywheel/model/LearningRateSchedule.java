package dev.flywheel.model;

import ai.djl.training.tracker.Tracker;

/**
 * Linear warmup to a peak, then decay to {@code peak * minRatio} by {@code totalSteps}, then flat.
 * Steps count optimizer updates from 1.
 *
 * @param peak learning rate reached at the end of warmup
 * @param warmupSteps steps of linear warmup from peak/warmupSteps to peak (0: start at the peak)
 * @param totalSteps step at which decay ends; ignored for {@link Decay#CONSTANT} (continuous
 *     training)
 * @param minRatio final learning rate as a fraction of the peak (nanoGPT and Chinchilla: 0.1)
 * @param decay shape of the decay
 * @param offset updates of the schedule already taken before update 1 ({@link #after}): a round
 *     resumed from a checkpoint, or one that trains its part of a longer schedule
 */
public record LearningRateSchedule(
    float peak, long warmupSteps, long totalSteps, float minRatio, Decay decay, long offset)
    implements Tracker {

  public enum Decay {
    /** Half a cosine from peak to min (Loshchilov &amp; Hutter 2017; GPT-3, nanoGPT). */
    COSINE,
    /** Straight line from peak to min (InstructGPT's PPO and RM schedules). */
    LINEAR,
    /** Stay at the peak after warmup: for training that never ends. */
    CONSTANT
  }

  public LearningRateSchedule {
    if (!(peak > 0) || warmupSteps < 0 || minRatio < 0 || minRatio > 1 || offset < 0) {
      throw new IllegalArgumentException(
          "need peak > 0, warmupSteps >= 0, minRatio in [0, 1], offset >= 0");
    }
    if (decay != Decay.CONSTANT && totalSteps <= warmupSteps) {
      throw new IllegalArgumentException("totalSteps must exceed warmupSteps");
    }
  }

  /** A schedule from its first update. */
  public LearningRateSchedule(
      float peak, long warmupSteps, long totalSteps, float minRatio, Decay decay) {
    this(peak, warmupSteps, totalSteps, minRatio, decay, 0);
  }

  /**
   * This schedule with its first {@code steps} updates taken: update 1 of the result is update
   * {@code steps} + 1 of this one.
   */
  public LearningRateSchedule after(long steps) {
    return new LearningRateSchedule(peak, warmupSteps, totalSteps, minRatio, decay, offset + steps);
  }

  public static LearningRateSchedule cosine(float peak, long warmupSteps, long totalSteps) {
    return new LearningRateSchedule(peak, warmupSteps, totalSteps, 0.1f, Decay.COSINE);
  }

  public static LearningRateSchedule linear(float peak, long warmupSteps, long totalSteps) {
    return new LearningRateSchedule(peak, warmupSteps, totalSteps, 0.1f, Decay.LINEAR);
  }

  public static LearningRateSchedule constant(float peak, long warmupSteps) {
    return new LearningRateSchedule(peak, warmupSteps, 0, 1f, Decay.CONSTANT);
  }

  /** Learning rate of update number {@code step} (1-based; after {@code offset} taken). */
  public float at(long update) {
    long step = update + offset;
    if (step <= warmupSteps) {
      return peak * Math.max(step, 1) / warmupSteps;
    }
    if (decay == Decay.CONSTANT) {
      return peak;
    }
    double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
    double min = peak * minRatio;
    double shape = decay == Decay.COSINE ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
    return (float) (min + (peak - min) * shape);
  }

  @Override
  public float getNewValue(int numUpdate) {
    return at(numUpdate);
  }
}
