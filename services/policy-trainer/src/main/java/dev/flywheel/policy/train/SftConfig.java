package dev.flywheel.policy.train;

import io.micronaut.context.annotation.ConfigurationProperties;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SFT hyper-parameters, bound from {@code flywheel.policy-trainer.sft.*}. InstructGPT (App. C.1)
 * trained its SFT models for 16 epochs with cosine learning-rate decay and residual dropout 0.2;
 * the defaults here keep the cosine decay, cap the steps of a round so that it takes minutes on a
 * CPU ({@code sft-continue} trains the rest of the epochs in further rounds), and train twice
 * InstructGPT's epochs: on the simulator's demonstrations this 0.86M-parameter policy samples about
 * +0.1 more held-out gold after 32 epochs than after 16 (the policy-trainer README, "What SFT
 * converges to").
 */
@ConfigurationProperties("flywheel.policy-trainer.sft")
public class SftConfig {

  private int epochs = 32;
  private int maxSteps = 600;
  private int batchSize = 16;
  private float learningRate = 1e-3f;
  private int warmupSteps = 20;
  private float weightDecay = 0.1f;
  private float maxGradNorm = 1.0f;
  private double evalFraction = 0.1;
  private int logEvery = 50;
  private int evalEvery = 100;
  private int earlyStoppingPatience = 3;
  private double earlyStoppingMinDelta = 0.0;
  private long seed = 42L;
  private ChainSchedule chainSchedule = ChainSchedule.ROUND;

  /** The learning-rate schedule of the rounds that continue SFT ({@code sft-continue}). */
  public enum ChainSchedule {
    /**
     * Each continuation round a cosine of its own from the peak, warm-up included: warm restarts
     * (Loshchilov &amp; Hutter 2017, SGDR).
     */
    ROUND,
    /**
     * One cosine over all the continuation rounds together, restarted once after the chain's first
     * round: each round trains its part of it (the learning rate goes on falling across rounds), as
     * one long run would after the first version.
     */
    CHAIN
  }

  public SftConfig copy() {
    SftConfig c = new SftConfig();
    c.epochs = epochs;
    c.maxSteps = maxSteps;
    c.batchSize = batchSize;
    c.learningRate = learningRate;
    c.warmupSteps = warmupSteps;
    c.weightDecay = weightDecay;
    c.maxGradNorm = maxGradNorm;
    c.evalFraction = evalFraction;
    c.logEvery = logEvery;
    c.evalEvery = evalEvery;
    c.earlyStoppingPatience = earlyStoppingPatience;
    c.earlyStoppingMinDelta = earlyStoppingMinDelta;
    c.seed = seed;
    c.chainSchedule = chainSchedule;
    return c;
  }

  public SftConfig validate() {
    if (epochs < 1
        || maxSteps < 1
        || batchSize < 1
        || !(learningRate > 0)
        || warmupSteps < 0
        || weightDecay < 0
        || maxGradNorm < 0
        || evalFraction < 0
        || evalFraction >= 1
        || logEvery < 1
        || evalEvery < 0
        || earlyStoppingPatience < 1
        || !(earlyStoppingMinDelta >= 0)
        || chainSchedule == null) {
      throw new IllegalArgumentException("flywheel.policy-trainer.sft: invalid settings");
    }
    return this;
  }

  public Map<String, String> toMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("sft.epochs", String.valueOf(epochs));
    m.put("sft.max-steps", String.valueOf(maxSteps));
    m.put("sft.batch-size", String.valueOf(batchSize));
    m.put("sft.learning-rate", String.valueOf(learningRate));
    m.put("sft.warmup-steps", String.valueOf(warmupSteps));
    m.put("sft.weight-decay", String.valueOf(weightDecay));
    m.put("sft.max-grad-norm", String.valueOf(maxGradNorm));
    m.put("sft.eval-fraction", String.valueOf(evalFraction));
    m.put("sft.eval-every", String.valueOf(evalEvery));
    m.put("sft.early-stopping-patience", String.valueOf(earlyStoppingPatience));
    m.put("sft.early-stopping-min-delta", String.valueOf(earlyStoppingMinDelta));
    m.put("sft.seed", String.valueOf(seed));
    m.put("sft.chain-schedule", chainSchedule.name().toLowerCase(java.util.Locale.ROOT));
    return m;
  }

  /**
   * Passes over the training demonstrations, over the chain of rounds with {@code sft-continue}
   * (InstructGPT: 16; 32 measured better here).
   */
  public int getEpochs() {
    return epochs;
  }

  public void setEpochs(int v) {
    epochs = v;
  }

  /** Upper bound on optimizer steps per SFT round, whatever the epochs would need. */
  public int getMaxSteps() {
    return maxSteps;
  }

  public void setMaxSteps(int v) {
    maxSteps = v;
  }

  /** Demonstrations per step. */
  public int getBatchSize() {
    return batchSize;
  }

  public void setBatchSize(int v) {
    batchSize = v;
  }

  /**
   * Peak AdamW learning rate, cosine-decayed to 10% (nanoGPT's 1e-3 for character-level models of
   * this size).
   */
  public float getLearningRate() {
    return learningRate;
  }

  public void setLearningRate(float v) {
    learningRate = v;
  }

  /** Linear warmup steps. */
  public int getWarmupSteps() {
    return warmupSteps;
  }

  public void setWarmupSteps(int v) {
    warmupSteps = v;
  }

  /** Decoupled weight decay on matrices (GPT-3 / nanoGPT 0.1). */
  public float getWeightDecay() {
    return weightDecay;
  }

  public void setWeightDecay(float v) {
    weightDecay = v;
  }

  /** Global gradient-norm clip (GPT-3 / nanoGPT 1.0); 0 disables. */
  public float getMaxGradNorm() {
    return maxGradNorm;
  }

  public void setMaxGradNorm(float v) {
    maxGradNorm = v;
  }

  /** Share of demonstrations held out for the eval loss, by hash of the demonstration id. */
  public double getEvalFraction() {
    return evalFraction;
  }

  public void setEvalFraction(double v) {
    evalFraction = v;
  }

  /** Log (and publish TrainingMetrics) every this many steps. */
  public int getLogEvery() {
    return logEvery;
  }

  public void setLogEvery(int v) {
    logEvery = v;
  }

  /**
   * Steps between eval-loss measurements for early stopping (and at the round's last step); 0 turns
   * early stopping off. Each measurement is one no-gradient pass over the held-out demonstrations
   * (~10% of a round's data, about 2% of the round's compute at 100).
   */
  public int getEvalEvery() {
    return evalEvery;
  }

  public void setEvalEvery(int v) {
    evalEvery = v;
  }

  /**
   * Measurements without an improvement before the round stops and the best weights are restored
   * (transformers' {@code EarlyStoppingCallback} {@code early_stopping_patience}, which has no
   * default; 3 tolerates the eval loss's step-to-step noise on ~200 held-out demonstrations).
   */
  public int getEarlyStoppingPatience() {
    return earlyStoppingPatience;
  }

  public void setEarlyStoppingPatience(int v) {
    earlyStoppingPatience = v;
  }

  /**
   * Smallest eval-loss decrease that counts as an improvement (transformers {@code
   * early_stopping_threshold} 0).
   */
  public double getEarlyStoppingMinDelta() {
    return earlyStoppingMinDelta;
  }

  public void setEarlyStoppingMinDelta(double v) {
    earlyStoppingMinDelta = v;
  }

  /** Seed of the initialisation (first round) and of the batch order. */
  public long getSeed() {
    return seed;
  }

  public void setSeed(long v) {
    seed = v;
  }

  /**
   * The learning-rate schedule across the rounds that continue SFT on the same demonstrations
   * ({@code sft-continue}): {@code round} (a cosine per round) or {@code chain} (one cosine over
   * them all). Default {@code round}: on 3 seeds at 32 epochs {@code chain} sampled +0.016 / −0.000
   * / +0.002 held-out gold against it, no interval excluding zero (the policy-trainer README, "What
   * SFT converges to").
   */
  public ChainSchedule getChainSchedule() {
    return chainSchedule;
  }

  public void setChainSchedule(ChainSchedule v) {
    chainSchedule = v;
  }
}
