package dev.flywheel.policy.train;

import io.micronaut.context.annotation.ConfigurationProperties;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Offline DPO on ranked comparison groups ({@link OfflineDpoTrainer}), bound from {@code
 * flywheel.policy-trainer.dpo.*} (kebab-case of the field names): the trainer's hyper-parameters,
 * and when the service's DPO round ({@code ppo.algorithm=dpo}) starts and how much input it keeps.
 * Defaults follow TRL's {@code DPOConfig} where the scale allows and say why where they differ.
 * Plain mutable bean: tests and the learning benchmark build one with {@code new DpoConfig()} and
 * setters.
 */
@ConfigurationProperties("flywheel.policy-trainer.dpo")
public class DpoConfig {

  private static final String PREFIX = "flywheel.policy-trainer.dpo.";

  private float beta = 0.1f;
  private PpoConfig.DpoLoss loss = PpoConfig.DpoLoss.SIGMOID;
  private float labelSmoothing = 0f;
  private float rpoAlpha = 0f;
  private float learningRate = 5e-5f;
  private int epochs = 2;
  private int groupsPerStep = 16;
  private int warmupSteps = 10;
  private float weightDecay = 0f;
  private float maxGradNorm = 1.0f;
  private long seed = 42L;
  // ---- the service's DPO round ----
  private int roundMinGroups = 256;
  private int bufferMaxGroups = 20_000;
  private int evalMaxGroups = 2_000;
  private int checkpointEvery = 20;
  private int logEvery = 10;

  public DpoConfig copy() {
    DpoConfig c = new DpoConfig();
    c.beta = beta;
    c.loss = loss;
    c.labelSmoothing = labelSmoothing;
    c.rpoAlpha = rpoAlpha;
    c.learningRate = learningRate;
    c.epochs = epochs;
    c.groupsPerStep = groupsPerStep;
    c.warmupSteps = warmupSteps;
    c.weightDecay = weightDecay;
    c.maxGradNorm = maxGradNorm;
    c.seed = seed;
    c.roundMinGroups = roundMinGroups;
    c.bufferMaxGroups = bufferMaxGroups;
    c.evalMaxGroups = evalMaxGroups;
    c.checkpointEvery = checkpointEvery;
    c.logEvery = logEvery;
    return c;
  }

  /** Throws {@link IllegalArgumentException} naming the first invalid key and its value. */
  public DpoConfig validate() {
    require(beta > 0, "beta", "must be > 0", beta);
    require(loss != null, "loss", "must be sigmoid or ipo", loss);
    require(
        labelSmoothing >= 0 && labelSmoothing < 0.5f,
        "label-smoothing",
        "must be in [0, 0.5)",
        labelSmoothing);
    require(rpoAlpha >= 0, "rpo-alpha", "must be >= 0", rpoAlpha);
    require(learningRate > 0, "learning-rate", "must be > 0", learningRate);
    require(epochs >= 1, "epochs", "must be >= 1", epochs);
    require(groupsPerStep >= 1, "groups-per-step", "must be >= 1", groupsPerStep);
    require(warmupSteps >= 0, "warmup-steps", "must be >= 0", warmupSteps);
    require(weightDecay >= 0, "weight-decay", "must be >= 0", weightDecay);
    require(maxGradNorm >= 0, "max-grad-norm", "must be >= 0", maxGradNorm);
    require(roundMinGroups >= 1, "round-min-groups", "must be >= 1", roundMinGroups);
    require(
        bufferMaxGroups >= roundMinGroups,
        "buffer-max-groups",
        "must be >= round-min-groups (" + roundMinGroups + ")",
        bufferMaxGroups);
    require(evalMaxGroups >= 1, "eval-max-groups", "must be >= 1", evalMaxGroups);
    require(checkpointEvery >= 1, "checkpoint-every", "must be >= 1", checkpointEvery);
    require(logEvery >= 1, "log-every", "must be >= 1", logEvery);
    return this;
  }

  private static void require(boolean ok, String key, String rule, Object value) {
    if (!ok) {
      throw new IllegalArgumentException(PREFIX + key + " " + rule + " (was " + value + ")");
    }
  }

  /** Every setting as strings, for {@code PolicyVersion.hyperparameters}. */
  public Map<String, String> toMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("dpo.beta", String.valueOf(beta));
    m.put("dpo.loss", loss.name().toLowerCase(Locale.ROOT));
    m.put("dpo.label-smoothing", String.valueOf(labelSmoothing));
    m.put("dpo.rpo-alpha", String.valueOf(rpoAlpha));
    m.put("dpo.learning-rate", String.valueOf(learningRate));
    m.put("dpo.epochs", String.valueOf(epochs));
    m.put("dpo.groups-per-step", String.valueOf(groupsPerStep));
    m.put("dpo.warmup-steps", String.valueOf(warmupSteps));
    m.put("dpo.weight-decay", String.valueOf(weightDecay));
    m.put("dpo.max-grad-norm", String.valueOf(maxGradNorm));
    m.put("dpo.seed", String.valueOf(seed));
    m.put("dpo.round-min-groups", String.valueOf(roundMinGroups));
    m.put("dpo.buffer-max-groups", String.valueOf(bufferMaxGroups));
    m.put("dpo.eval-max-groups", String.valueOf(evalMaxGroups));
    m.put("dpo.checkpoint-every", String.valueOf(checkpointEvery));
    m.put("dpo.log-every", String.valueOf(logEvery));
    return m;
  }

  /** β: strength of the pull to the reference (Rafailov et al. 2023; TRL {@code beta} 0.1). */
  public float getBeta() {
    return beta;
  }

  public void setBeta(float v) {
    beta = v;
  }

  /** Sigmoid (DPO) or IPO (Azar et al. 2023); TRL {@code loss_type} "sigmoid". */
  public PpoConfig.DpoLoss getLoss() {
    return loss;
  }

  public void setLoss(PpoConfig.DpoLoss v) {
    loss = v;
  }

  /**
   * ε of conservative DPO, the assumed probability that a label is flipped (Mitchell 2023; TRL
   * {@code label_smoothing} 0). The simulator's labelers flip about one pair in four.
   */
  public float getLabelSmoothing() {
    return labelSmoothing;
  }

  public void setLabelSmoothing(float v) {
    labelSmoothing = v;
  }

  /**
   * Weight of the chosen responses' negative log-likelihood (per token) added to the DPO loss: RPO
   * (Pang et al. 2024, "Iterative Reasoning Preference Optimization", α = 1; TRL {@code rpo_alpha},
   * off by default). DPO alone can lower the likelihood of the chosen responses along with the
   * rejected ones; the NLL term keeps the policy on them. 0 = plain DPO.
   */
  public float getRpoAlpha() {
    return rpoAlpha;
  }

  public void setRpoAlpha(float v) {
    rpoAlpha = v;
  }

  /**
   * Peak AdamW learning rate, constant after warmup. TRL's 1e-6 is for 7B-parameter models; a
   * 1M-parameter character model needs a rate between that and SFT's 1e-3: 5e-5, half the PPO rate
   * (the learning benchmark's sweep).
   */
  public float getLearningRate() {
    return learningRate;
  }

  public void setLearningRate(float v) {
    learningRate = v;
  }

  /** Passes over the ranked groups (Zephyr: 3; TRL's example scripts: 1). */
  public int getEpochs() {
    return epochs;
  }

  public void setEpochs(int v) {
    epochs = v;
  }

  /** Ranked groups per optimizer step, each with all the pairs its ranking implies. */
  public int getGroupsPerStep() {
    return groupsPerStep;
  }

  public void setGroupsPerStep(int v) {
    groupsPerStep = v;
  }

  /** Linear warmup steps (TRL {@code warmup_ratio} 0.1 of a ~100-step run). */
  public int getWarmupSteps() {
    return warmupSteps;
  }

  public void setWarmupSteps(int v) {
    warmupSteps = v;
  }

  /** Decoupled weight decay (TRL / transformers default 0). */
  public float getWeightDecay() {
    return weightDecay;
  }

  public void setWeightDecay(float v) {
    weightDecay = v;
  }

  /** Global gradient-norm clip (transformers {@code max_grad_norm} 1.0); 0 disables. */
  public float getMaxGradNorm() {
    return maxGradNorm;
  }

  public void setMaxGradNorm(float v) {
    maxGradNorm = v;
  }

  /** Seed of the group order. */
  public long getSeed() {
    return seed;
  }

  public void setSeed(long v) {
    seed = v;
  }

  /**
   * New train groups (beyond the training data of the latest DPO version) that start a DPO round:
   * the reward trainer's {@code round-min-groups}, 256, so that a DPO round and a reward-model
   * round see the same amount of new human data (16 steps of 16 groups per epoch).
   */
  public int getRoundMinGroups() {
    return roundMinGroups;
  }

  public void setRoundMinGroups(int v) {
    roundMinGroups = v;
  }

  /**
   * Most recent train groups kept in memory and trained on (older ones fall out): the reward
   * trainer's {@code buffer-max-groups}, 20,000 (a few MB of text).
   */
  public int getBufferMaxGroups() {
    return bufferMaxGroups;
  }

  public void setBufferMaxGroups(int v) {
    bufferMaxGroups = v;
  }

  /**
   * Most recent held-out (EVAL split) groups kept for the round's evaluation: the reward trainer's
   * {@code eval-max-groups}, 2,000.
   */
  public int getEvalMaxGroups() {
    return evalMaxGroups;
  }

  public void setEvalMaxGroups(int v) {
    evalMaxGroups = v;
  }

  /**
   * Optimizer steps between checkpoints of a DPO round: 20, a few checkpoints per round of 32 steps
   * at the defaults (the policy alone is saved, ~3.5 MB for the {@code small} preset).
   */
  public int getCheckpointEvery() {
    return checkpointEvery;
  }

  public void setCheckpointEvery(int v) {
    checkpointEvery = v;
  }

  /**
   * Optimizer steps between {@code TrainingMetrics} events of a DPO round (phase {@code dpo}; the
   * last step always reports): 10, so that a round at the defaults (2 epochs × 16 steps) reports 4
   * times, and one over a full buffer (2,500 steps) 250 times rather than 2,500.
   */
  public int getLogEvery() {
    return logEvery;
  }

  public void setLogEvery(int v) {
    logEvery = v;
  }
}
