package dev.flywheel.policy.service;

import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PromptPool;
import java.util.List;
import java.util.Random;

/**
 * Each iteration of an RL round's seed and prompts: the draw from the prompt pool the trainer
 * samples from itself ({@link #trainPrompts}) and, for the rollout workers, the same draw fitted,
 * the first {@code batch / K} (K samples each).
 */
final class RlIterationPlan implements WorkerRolloutSource.Plan {

  private final PpoConfig ppoConfig;
  private final PromptPool prompts;
  private final long target;
  private final int iterations;
  private final PolicyOptimizer trainer;
  private final int k;

  RlIterationPlan(
      PpoConfig ppoConfig,
      PromptPool prompts,
      long target,
      int iterations,
      PolicyOptimizer trainer) {
    this.ppoConfig = ppoConfig;
    this.prompts = prompts;
    this.target = target;
    this.iterations = iterations;
    this.trainer = trainer;
    this.k = ppoConfig.effectiveSamplesPerPrompt();
  }

  /** A round's training prompts of one iteration, as the trainer samples them itself. */
  List<int[]> trainPrompts(long seed) {
    return prompts.sampleTrain(
        ppoConfig.getRolloutBatchSize(), ppoConfig.getTranscriptPromptShare(), new Random(seed));
  }

  @Override
  public List<int[]> prompts(int iteration) {
    List<int[]> fitted = trainPrompts(seed(iteration)).stream().map(trainer::fitPrompt).toList();
    return fitted.subList(0, Math.max(1, fitted.size() / k));
  }

  @Override
  public long seed(int iteration) {
    return RoundRanges.mix(ppoConfig.getSeed(), target, iteration);
  }

  @Override
  public int iterations() {
    return iterations;
  }
}
