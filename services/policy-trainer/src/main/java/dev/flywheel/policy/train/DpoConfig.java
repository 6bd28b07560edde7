package dev.flywheel.policy.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Hyper-parameters of offline DPO on ranked comparison groups ({@link OfflineDpoTrainer}). Defaults
 * follow TRL's {@code DPOConfig} where the scale allows and say why where they differ. Plain
 * mutable bean; the learning benchmark sets it from its {@code dpo=} settings.
 */
public class DpoConfig {

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
    return c;
  }

  public DpoConfig validate() {
    if (!(beta > 0)
        || labelSmoothing < 0
        || labelSmoothing >= 0.5f
        || rpoAlpha < 0
        || !(learningRate > 0)
        || epochs < 1
        || groupsPerStep < 1
        || warmupSteps < 0
        || weightDecay < 0
        || maxGradNorm < 0) {
      throw new IllegalArgumentException("dpo: invalid settings " + toMap());
    }
    return this;
  }

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
}
