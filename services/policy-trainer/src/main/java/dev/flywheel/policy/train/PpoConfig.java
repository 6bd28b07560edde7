package dev.flywheel.policy.train;

import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.OptimizerConfig;
import io.micronaut.context.annotation.ConfigurationProperties;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Every PPO hyper-parameter, bound from {@code flywheel.policy-trainer.ppo.*} (kebab-case of the
 * field names). Defaults follow TRL's {@code PPOConfig} (trl 0.x, {@code
 * trl/trainer/ppo_config.py}) and InstructGPT (Ouyang et al. 2022, App. C) where those apply to a
 * model of this size; where a default differs (the learning rate, batch sizes, early stopping) the
 * reason is given. Plain mutable bean: tests build one with {@code new PpoConfig()} and setters.
 */
@ConfigurationProperties("flywheel.policy-trainer.ppo")
public class PpoConfig {

  /** How β, the KL coefficient, is chosen. */
  public enum KlControl {
    /**
     * β adapts so the KL tracks {@link #getKlTarget()} (Ziegler et al. 2019; TRL {@code
     * adap_kl_ctrl=True}).
     */
    ADAPTIVE,
    /** β stays at {@link #getInitKlCoef()} (InstructGPT: fixed β = 0.02). */
    FIXED
  }

  /** How raw reward-model scores are rescaled before the KL penalty is added. */
  public enum ScoreNormalization {
    /** Scores as they are (minus the RM's rewardOffset). TRL default. */
    NONE,
    /**
     * Divide by the running standard deviation of all scores seen (TRL {@code use_score_scaling}).
     */
    SCALE,
    /**
     * Subtract the running mean and divide by the running std (TRL {@code use_score_scaling +
     * use_score_norm}).
     */
    NORMALIZE,
    /**
     * Divide by the reward-model version's own {@code reward_scale}, published with it: the pooled
     * within-group standard deviation of its scores on its eval groups ({@code
     * dev.flywheel.model.WithinGroupScale}). One fixed scale per version, the same for every
     * consumer and every algorithm, so that rewards are in units of the spread between answers to
     * one prompt, which is what β, the KL target and the value clip (TRL constants) assume; a value
     * model initialised from the reward model is rescaled with it. Versions published without a
     * usable scale fall back to 1, with a warning in the log; the scale a round used is in the
     * version's hyperparameters ({@code reward_scale}).
     */
    REWARD_MODEL
  }

  /**
   * How the preference-optimisation stage (InstructGPT's step 3) updates the policy. The five RL
   * algorithms sample from π, score with the reward model, keep π near the reference (the SFT
   * policy; RAFT only by taking few, small steps) and may add the PPO-ptx demonstration term;
   * {@link #DPO} instead trains on the human rankings themselves, in a round of its own (the
   * service's {@code DpoRound}, settings {@code flywheel.policy-trainer.dpo.*}), and none of the RL
   * settings applies to it except the evaluation's.
   */
  public enum Algorithm {
    /**
     * PPO with a value model and GAE, per-token KL penalty in the reward (Schulman et al. 2017;
     * Ziegler et al. 2019; InstructGPT; TRL {@code PPOTrainer}).
     */
    PPO,
    /**
     * REINFORCE leave-one-out: K samples per prompt, sequence reward = score − β·Σ_t KL_t,
     * advantage = that reward minus the mean of the prompt's other K − 1 rewards; no value model
     * (Ahmadian et al. 2024, "Back to Basics"; TRL {@code RLOOTrainer}, whose update is the same
     * clipped surrogate).
     */
    RLOO,
    /**
     * Group relative policy optimisation: K samples per prompt, advantage = (score − group mean) /
     * group std, the KL to the reference as a per-token k3 term β·(π_ref/π − log(π_ref/π) − 1) in
     * the loss instead of the reward; no value model (Shao et al. 2024, DeepSeekMath; TRL {@code
     * GRPOTrainer}).
     */
    GRPO,
    /**
     * Online DPO: K fresh samples per prompt scored by the reward model, the best against the worst
     * into the DPO loss against the reference; no value model, no KL controller: β of DPO is the
     * anchor (Guo et al. 2024, "Direct Language Model Alignment from Online AI Feedback"; Xiong et
     * al. 2024, iterative DPO with best-vs-worst of K; TRL {@code OnlineDPOTrainer}).
     */
    ONLINE_DPO,
    /**
     * Rejection-sampling fine-tuning: K fresh samples per prompt scored by the reward model, the
     * best of each prompt's K into the SFT loss ({@code RaftTrainer}); no value model, no KL term,
     * no clipping — best-of-K by the reward model, distilled into the policy (Dong et al. 2023,
     * RAFT; Gulcehre et al. 2023, ReST; Touvron et al. 2023, Llama 2's rejection sampling).
     */
    RAFT,
    /**
     * Offline DPO straight from the ranked comparison groups on {@code training.comparisons}: no
     * reward model, no sampling, every (winner, loser) pair of a group into the DPO loss against
     * the base policy (Rafailov et al. 2023; TRL {@code DPOTrainer}). Not an RL algorithm: the loop
     * runs it as a DPO round ({@code DpoConfig}, {@code OfflineDpoTrainer}); {@link
     * PolicyOptimizer#create} refuses it.
     */
    DPO;

    /** Samples per prompt when {@code samples-per-prompt} is 0. */
    public int defaultSamplesPerPrompt() {
      return switch (this) {
        case PPO -> 1; // TRL PPOTrainer: one response per query
        case RLOO -> 4; // Ahmadian et al. 2024 report k = 2 and 4; 4 was better
        case GRPO -> 8; // TRL GRPOConfig num_generations 8 (DeepSeekMath: 64)
        case ONLINE_DPO -> 4; // best vs worst of 4; TRL samples 2, Xiong et al. best/worst of 8
        // best of 4: where best-of-n by this project's reward models still gains gold
        // (policy-trainer
        // README, Gao et al.'s curves); RAFT uses K = 8-32 with 7B-scale reward models
        case RAFT -> 4;
        case DPO -> 1; // samples nothing in training (only the evaluation samples)
      };
    }

    /** True for the algorithms an RL round runs ({@link PolicyOptimizer}); false for DPO. */
    public boolean isRl() {
      return this != DPO;
    }
  }

  /** The DPO loss family (TRL {@code DPOConfig.loss_type}). */
  public enum DpoLoss {
    /**
     * −log σ(β·h), h the chosen minus rejected log-ratio to the reference (Rafailov et al. 2023).
     */
    SIGMOID,
    /** (h − 1/(2β))², bounded preference (Azar et al. 2023, IPO). */
    IPO
  }

  /** Where the value model's weights come from at the start of a PPO run. */
  public enum ValueInit {
    /** Trunk and head of the reward model being optimised (InstructGPT §3.5). */
    REWARD_MODEL,
    /** Trunk of the policy, fresh head (TRL's shared-trunk value head). */
    POLICY
  }

  private Algorithm algorithm = Algorithm.PPO;
  // ---- rollouts ----
  private int rolloutBatchSize = 128;
  private int samplesPerPrompt = 0;
  private int maxNewTokens = 48;
  private float missingEosPenalty = 0f;
  private double transcriptPromptShare = 0.5;
  // ---- optimisation ----
  private int miniBatchSize = 32;
  private int ppoEpochs = 4;
  private int gradientAccumulationSteps = 1;
  private float learningRate = 1e-4f;
  private int warmupSteps = 0;
  private float weightDecay = 0f;
  private float maxGradNorm = 1.0f;
  // ---- KL penalty ----
  private KlControl klControl = KlControl.ADAPTIVE;
  private double initKlCoef = 0.2;
  private double klTarget = 6.0;
  private long klHorizon = 10_000;
  // ---- rewards ----
  private ScoreNormalization scoreNormalization = ScoreNormalization.NONE;
  private float scoreClip = 0f;
  private boolean whitenRewards = false;
  // ---- GAE and losses ----
  private float gamma = 1f;
  private float lam = 0.95f;
  private boolean whitenAdvantages = true;
  private float cliprange = 0.2f;
  private float cliprangeValue = 0.2f;
  private float vfCoef = 0.1f;
  private float entropyCoef = 0f;
  private float ratioThreshold = 10f;
  private boolean earlyStopping = true;
  private float targetKl = 0.1f;
  // ---- value function ----
  private ValueInit valueInit = ValueInit.REWARD_MODEL;
  // ---- PPO-ptx ----
  private float ptxCoef = 1f;
  private int ptxBatchSize = 8;
  // ---- round, evaluation and gate ----
  private int iterationsPerRound = 16;
  private int evalPrompts = 32;
  private int evalSamplesPerPrompt = 4;
  private double maxEvalKl = 12.0;
  private double rewardDropTolerance = 0.0;
  private double rewardDropConfidence = 0.95;
  private long seed = 1234L;
  // ---- online DPO ----
  private float dpoBeta = 0.1f;
  private DpoLoss dpoLoss = DpoLoss.SIGMOID;
  private float dpoLabelSmoothing = 0f;

  /**
   * A copy (the trainer keeps its own so that a later change of the bean cannot alter a running
   * round).
   */
  public PpoConfig copy() {
    PpoConfig c = new PpoConfig();
    c.algorithm = algorithm;
    c.rolloutBatchSize = rolloutBatchSize;
    c.samplesPerPrompt = samplesPerPrompt;
    c.maxNewTokens = maxNewTokens;
    c.missingEosPenalty = missingEosPenalty;
    c.transcriptPromptShare = transcriptPromptShare;
    c.miniBatchSize = miniBatchSize;
    c.ppoEpochs = ppoEpochs;
    c.gradientAccumulationSteps = gradientAccumulationSteps;
    c.learningRate = learningRate;
    c.warmupSteps = warmupSteps;
    c.weightDecay = weightDecay;
    c.maxGradNorm = maxGradNorm;
    c.klControl = klControl;
    c.initKlCoef = initKlCoef;
    c.klTarget = klTarget;
    c.klHorizon = klHorizon;
    c.scoreNormalization = scoreNormalization;
    c.scoreClip = scoreClip;
    c.whitenRewards = whitenRewards;
    c.gamma = gamma;
    c.lam = lam;
    c.whitenAdvantages = whitenAdvantages;
    c.cliprange = cliprange;
    c.cliprangeValue = cliprangeValue;
    c.vfCoef = vfCoef;
    c.entropyCoef = entropyCoef;
    c.ratioThreshold = ratioThreshold;
    c.earlyStopping = earlyStopping;
    c.targetKl = targetKl;
    c.valueInit = valueInit;
    c.ptxCoef = ptxCoef;
    c.ptxBatchSize = ptxBatchSize;
    c.iterationsPerRound = iterationsPerRound;
    c.evalPrompts = evalPrompts;
    c.evalSamplesPerPrompt = evalSamplesPerPrompt;
    c.maxEvalKl = maxEvalKl;
    c.rewardDropTolerance = rewardDropTolerance;
    c.rewardDropConfidence = rewardDropConfidence;
    c.seed = seed;
    c.dpoBeta = dpoBeta;
    c.dpoLoss = dpoLoss;
    c.dpoLabelSmoothing = dpoLabelSmoothing;
    return c;
  }

  /**
   * AdamW with a constant rate after warmup (continuous training never decays it), shared by every
   * algorithm.
   */
  public OptimizerConfig optimizer() {
    return OptimizerConfig.adamW(LearningRateSchedule.constant(learningRate, warmupSteps))
        .withWeightDecay(weightDecay)
        .withMaxGradNorm(maxGradNorm)
        .withMicroBatches(gradientAccumulationSteps);
  }

  /** Fails on settings that cannot work. */
  public PpoConfig validate() {
    require(
        rolloutBatchSize >= 1 && miniBatchSize >= 1,
        "rollout-batch-size and mini-batch-size must be >= 1");
    require(
        miniBatchSize <= rolloutBatchSize, "mini-batch-size must not exceed rollout-batch-size");
    int k = effectiveSamplesPerPrompt();
    require(
        samplesPerPrompt >= 0 && rolloutBatchSize % k == 0,
        "samples-per-prompt (" + k + ") must divide rollout-batch-size (" + rolloutBatchSize + ")");
    require(
        algorithm == Algorithm.PPO || algorithm == Algorithm.DPO || k >= 2,
        "algorithm "
            + algorithm.name().toLowerCase(Locale.ROOT)
            + " compares samples of one prompt: samples-per-prompt must be >= 2 (or 0 for its default)");
    require(
        dpoBeta > 0 && dpoLabelSmoothing >= 0 && dpoLabelSmoothing < 0.5,
        "need dpo-beta > 0 and dpo-label-smoothing in [0, 0.5)");
    require(
        gradientAccumulationSteps >= 1 && miniBatchSize % gradientAccumulationSteps == 0,
        "mini-batch-size must be a multiple of gradient-accumulation-steps");
    require(
        maxNewTokens >= 1 && ppoEpochs >= 1 && iterationsPerRound >= 1,
        "max-new-tokens, ppo-epochs, iterations-per-round must be >= 1");
    require(
        learningRate > 0 && warmupSteps >= 0 && weightDecay >= 0 && maxGradNorm >= 0,
        "invalid optimizer settings");
    require(
        initKlCoef >= 0 && klTarget > 0 && klHorizon > 0,
        "need init-kl-coef >= 0, kl-target > 0, kl-horizon > 0");
    require(
        scoreClip >= 0 && missingEosPenalty >= 0,
        "score-clip and missing-eos-penalty must be >= 0");
    require(gamma >= 0 && gamma <= 1 && lam >= 0 && lam <= 1, "gamma and lam must be in [0, 1]");
    require(
        cliprange > 0 && cliprangeValue > 0 && vfCoef >= 0 && entropyCoef >= 0,
        "invalid loss settings");
    require(ratioThreshold > 1 && targetKl > 0, "need ratio-threshold > 1 and target-kl > 0");
    require(ptxCoef >= 0 && ptxBatchSize >= 1, "need ptx-coef >= 0 and ptx-batch-size >= 1");
    require(
        evalPrompts >= 1 && evalSamplesPerPrompt >= 1 && maxEvalKl > 0 && rewardDropTolerance >= 0,
        "invalid eval settings");
    require(
        rewardDropConfidence >= 0 && rewardDropConfidence < 1,
        "reward-drop-confidence must be in [0, 1)");
    require(
        transcriptPromptShare >= 0 && transcriptPromptShare <= 1,
        "transcript-prompt-share must be in [0, 1]");
    return this;
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("flywheel.policy-trainer.ppo: " + message);
    }
  }

  /**
   * Every setting as strings, for {@code PolicyVersion.hyperparameters} (keys in kebab-case as
   * configured).
   */
  public Map<String, String> toMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("ppo.algorithm", algorithm.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    m.put("ppo.rollout-batch-size", String.valueOf(rolloutBatchSize));
    m.put("ppo.samples-per-prompt", String.valueOf(effectiveSamplesPerPrompt()));
    m.put("ppo.max-new-tokens", String.valueOf(maxNewTokens));
    m.put("ppo.missing-eos-penalty", String.valueOf(missingEosPenalty));
    m.put("ppo.transcript-prompt-share", String.valueOf(transcriptPromptShare));
    m.put("ppo.mini-batch-size", String.valueOf(miniBatchSize));
    m.put("ppo.ppo-epochs", String.valueOf(ppoEpochs));
    m.put("ppo.gradient-accumulation-steps", String.valueOf(gradientAccumulationSteps));
    m.put("ppo.learning-rate", String.valueOf(learningRate));
    m.put("ppo.warmup-steps", String.valueOf(warmupSteps));
    m.put("ppo.weight-decay", String.valueOf(weightDecay));
    m.put("ppo.max-grad-norm", String.valueOf(maxGradNorm));
    m.put("ppo.kl-control", klControl.name().toLowerCase(Locale.ROOT));
    m.put("ppo.init-kl-coef", String.valueOf(initKlCoef));
    m.put("ppo.kl-target", String.valueOf(klTarget));
    m.put("ppo.kl-horizon", String.valueOf(klHorizon));
    m.put(
        "ppo.score-normalization",
        scoreNormalization.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    m.put("ppo.score-clip", String.valueOf(scoreClip));
    m.put("ppo.whiten-rewards", String.valueOf(whitenRewards));
    m.put("ppo.gamma", String.valueOf(gamma));
    m.put("ppo.lam", String.valueOf(lam));
    m.put("ppo.whiten-advantages", String.valueOf(whitenAdvantages));
    m.put("ppo.cliprange", String.valueOf(cliprange));
    m.put("ppo.cliprange-value", String.valueOf(cliprangeValue));
    m.put("ppo.vf-coef", String.valueOf(vfCoef));
    m.put("ppo.entropy-coef", String.valueOf(entropyCoef));
    m.put("ppo.ratio-threshold", String.valueOf(ratioThreshold));
    m.put("ppo.early-stopping", String.valueOf(earlyStopping));
    m.put("ppo.target-kl", String.valueOf(targetKl));
    m.put("ppo.value-init", valueInit.name().toLowerCase(Locale.ROOT));
    m.put("ppo.ptx-coef", String.valueOf(ptxCoef));
    m.put("ppo.ptx-batch-size", String.valueOf(ptxBatchSize));
    m.put("ppo.iterations-per-round", String.valueOf(iterationsPerRound));
    m.put("ppo.eval-prompts", String.valueOf(evalPrompts));
    m.put("ppo.eval-samples-per-prompt", String.valueOf(evalSamplesPerPrompt));
    m.put("ppo.max-eval-kl", String.valueOf(maxEvalKl));
    m.put("ppo.reward-drop-tolerance", String.valueOf(rewardDropTolerance));
    m.put("ppo.reward-drop-confidence", String.valueOf(rewardDropConfidence));
    m.put("ppo.seed", String.valueOf(seed));
    if (algorithm == Algorithm.ONLINE_DPO) {
      m.put("ppo.dpo-beta", String.valueOf(dpoBeta));
      m.put("ppo.dpo-loss", dpoLoss.name().toLowerCase(Locale.ROOT));
      m.put("ppo.dpo-label-smoothing", String.valueOf(dpoLabelSmoothing));
    }
    return m;
  }

  /**
   * Prompts per PPO iteration, i.e. episodes per rollout batch (TRL {@code batch_size} 128;
   * InstructGPT 512). Default 128: at 32 the reward model's spread across prompts (σ ≈ 2.7) swamps
   * the gradient and PPO random-walks away from SFT (KL 5 nats, held-out gold down;
   * LoopExperiment).
   */
  public int getRolloutBatchSize() {
    return rolloutBatchSize;
  }

  public void setRolloutBatchSize(int v) {
    rolloutBatchSize = v;
  }

  /**
   * The algorithm of InstructGPT's step 3 (see {@link Algorithm}): {@code ppo} (default, the seed's
   * algorithm), {@code rloo}, {@code grpo}, {@code online-dpo}, {@code raft} (RL rounds against the
   * accepted reward model), or {@code dpo} (DPO rounds on the human rankings, settings {@code
   * dpo.*}). Every other {@code ppo.*} setting applies to the five RL algorithms unless its
   * description says otherwise; DPO uses only the evaluation's ({@code eval-prompts}, {@code
   * eval-samples-per-prompt}, {@code max-new-tokens}, {@code max-eval-kl}, {@code seed}).
   */
  public Algorithm getAlgorithm() {
    return algorithm;
  }

  public void setAlgorithm(Algorithm v) {
    algorithm = v;
  }

  /**
   * Responses sampled per prompt in a rollout batch (K); 0 (default) = the algorithm's default
   * ({@link Algorithm#defaultSamplesPerPrompt()}: PPO 1, RLOO 4, GRPO 8, online DPO 4). A batch
   * holds {@code rollout-batch-size / K} prompts, K samples each. For PPO with K &gt; 1 every score
   * is replaced by its leave-one-out advantage r_i − mean_{j≠i} r_j before GAE (the RLOO baseline
   * inside PPO). Group baselines remove the per-prompt offset of the reward model's scores (σ ≈ 2.7
   * across prompts against a few tenths between answers to one prompt) that PPO's value head must
   * otherwise learn.
   */
  public int getSamplesPerPrompt() {
    return samplesPerPrompt;
  }

  public void setSamplesPerPrompt(int v) {
    samplesPerPrompt = v;
  }

  /** K as used: {@link #getSamplesPerPrompt()}, or the algorithm's default when that is 0. */
  public int effectiveSamplesPerPrompt() {
    return samplesPerPrompt > 0 ? samplesPerPrompt : algorithm.defaultSamplesPerPrompt();
  }

  /**
   * Online DPO's β: the strength of the implicit KL anchor to the reference (Rafailov et al. 2023;
   * TRL {@code beta} 0.1).
   */
  public float getDpoBeta() {
    return dpoBeta;
  }

  public void setDpoBeta(float v) {
    dpoBeta = v;
  }

  /** Online DPO's loss: sigmoid (DPO) or IPO (TRL {@code loss_type} "sigmoid"). */
  public DpoLoss getDpoLoss() {
    return dpoLoss;
  }

  public void setDpoLoss(DpoLoss v) {
    dpoLoss = v;
  }

  /**
   * Online DPO's label smoothing ε: the assumed probability that a preference is flipped,
   * conservative DPO (Mitchell 2023, cDPO; TRL {@code label_smoothing} 0). Only with the sigmoid
   * loss.
   */
  public float getDpoLabelSmoothing() {
    return dpoLabelSmoothing;
  }

  public void setDpoLabelSmoothing(float v) {
    dpoLabelSmoothing = v;
  }

  /** Longest response sampled per prompt, in tokens (bytes); also capped by the context length. */
  public int getMaxNewTokens() {
    return maxNewTokens;
  }

  public void setMaxNewTokens(int v) {
    maxNewTokens = v;
  }

  /**
   * Subtracted from the score of a response cut off before EOS (TRL PPOv2 {@code
   * missing_eos_penalty}; default off).
   */
  public float getMissingEosPenalty() {
    return missingEosPenalty;
  }

  public void setMissingEosPenalty(float v) {
    missingEosPenalty = v;
  }

  /**
   * Share of each rollout batch drawn from recent transcripts when both transcript and configured
   * prompts exist.
   */
  public double getTranscriptPromptShare() {
    return transcriptPromptShare;
  }

  public void setTranscriptPromptShare(double v) {
    transcriptPromptShare = v;
  }

  /**
   * Episodes per optimizer step (TRL {@code mini_batch_size} 128 of 128 → 1 step/epoch; InstructGPT
   * 64 of 512). Default 32: 4 steps per epoch.
   */
  public int getMiniBatchSize() {
    return miniBatchSize;
  }

  public void setMiniBatchSize(int v) {
    miniBatchSize = v;
  }

  /** Passes over each rollout batch (TRL {@code ppo_epochs} 4). */
  public int getPpoEpochs() {
    return ppoEpochs;
  }

  public void setPpoEpochs(int v) {
    ppoEpochs = v;
  }

  /** Micro-batches per optimizer step (TRL {@code gradient_accumulation_steps} 1). */
  public int getGradientAccumulationSteps() {
    return gradientAccumulationSteps;
  }

  public void setGradientAccumulationSteps(int v) {
    gradientAccumulationSteps = v;
  }

  /**
   * AdamW learning rate, policy and value alike (TRL {@code learning_rate} 1.41e-5 is for GPT-2
   * 124M; the ~0.1–1M-parameter models here need ~1e-4).
   */
  public float getLearningRate() {
    return learningRate;
  }

  public void setLearningRate(float v) {
    learningRate = v;
  }

  /**
   * Linear warmup steps of the (otherwise constant) learning rate; continuous training never decays
   * it.
   */
  public int getWarmupSteps() {
    return warmupSteps;
  }

  public void setWarmupSteps(int v) {
    warmupSteps = v;
  }

  /** Decoupled weight decay (TRL uses plain Adam: 0). */
  public float getWeightDecay() {
    return weightDecay;
  }

  public void setWeightDecay(float v) {
    weightDecay = v;
  }

  /** Global gradient-norm clip; 0 disables (TRL {@code max_grad_norm} None; OpenRLHF 1.0). */
  public float getMaxGradNorm() {
    return maxGradNorm;
  }

  public void setMaxGradNorm(float v) {
    maxGradNorm = v;
  }

  /** Adaptive or fixed β (TRL {@code adap_kl_ctrl} True). */
  public KlControl getKlControl() {
    return klControl;
  }

  public void setKlControl(KlControl v) {
    klControl = v;
  }

  /** Initial β, or the fixed β (TRL {@code init_kl_coef} 0.2; InstructGPT fixed 0.02). */
  public double getInitKlCoef() {
    return initKlCoef;
  }

  public void setInitKlCoef(double v) {
    initKlCoef = v;
  }

  /** KL target of the adaptive controller, nats per sequence (TRL {@code target} 6). */
  public double getKlTarget() {
    return klTarget;
  }

  public void setKlTarget(double v) {
    klTarget = v;
  }

  /** Horizon of the adaptive controller, in episodes (TRL {@code horizon} 10000). */
  public long getKlHorizon() {
    return klHorizon;
  }

  public void setKlHorizon(long v) {
    klHorizon = v;
  }

  /**
   * Running rescaling of scores (TRL {@code use_score_scaling}/{@code use_score_norm}, both off).
   */
  public ScoreNormalization getScoreNormalization() {
    return scoreNormalization;
  }

  public void setScoreNormalization(ScoreNormalization v) {
    scoreNormalization = v;
  }

  /** Clip (normalised) scores to ±this; 0 disables (TRL {@code score_clip} None). */
  public float getScoreClip() {
    return scoreClip;
  }

  public void setScoreClip(float v) {
    scoreClip = v;
  }

  /** Whiten the per-token rewards before GAE, scale only (TRL {@code whiten_rewards} False). */
  public boolean isWhitenRewards() {
    return whitenRewards;
  }

  public void setWhitenRewards(boolean v) {
    whitenRewards = v;
  }

  /** GAE discount γ (TRL {@code gamma} 1: episodes are short and end with the score). */
  public float getGamma() {
    return gamma;
  }

  public void setGamma(float v) {
    gamma = v;
  }

  /** GAE λ (TRL {@code lam} 0.95). */
  public float getLam() {
    return lam;
  }

  public void setLam(float v) {
    lam = v;
  }

  /** Whiten advantages over the rollout batch (TRL {@code whiten_advantages} True). */
  public boolean isWhitenAdvantages() {
    return whitenAdvantages;
  }

  public void setWhitenAdvantages(boolean v) {
    whitenAdvantages = v;
  }

  /** Policy ratio clip ε (TRL {@code cliprange} 0.2; Schulman et al. 2017). */
  public float getCliprange() {
    return cliprange;
  }

  public void setCliprange(float v) {
    cliprange = v;
  }

  /** Value clip ε_v (TRL {@code cliprange_value} 0.2). */
  public float getCliprangeValue() {
    return cliprangeValue;
  }

  public void setCliprangeValue(float v) {
    cliprangeValue = v;
  }

  /** Weight of the value loss in the joint loss (TRL {@code vf_coef} 0.1). */
  public float getVfCoef() {
    return vfCoef;
  }

  public void setVfCoef(float v) {
    vfCoef = v;
  }

  /** Entropy bonus weight (TRL and InstructGPT: none, 0). */
  public float getEntropyCoef() {
    return entropyCoef;
  }

  public void setEntropyCoef(float v) {
    entropyCoef = v;
  }

  /**
   * A minibatch whose mean ratio exceeds this gets no policy gradient (TRL {@code ratio_threshold}
   * 10).
   */
  public float getRatioThreshold() {
    return ratioThreshold;
  }

  public void setRatioThreshold(float v) {
    ratioThreshold = v;
  }

  /**
   * Stop the epochs over a rollout batch once the approximate KL(π_old‖π) of a minibatch exceeds
   * 1.5 × {@link #getTargetKl()} (TRL {@code early_stopping}, off there; on here because several
   * epochs on a small batch overshoot easily).
   */
  public boolean isEarlyStopping() {
    return earlyStopping;
  }

  public void setEarlyStopping(boolean v) {
    earlyStopping = v;
  }

  /** Per-token approximate KL for early stopping (TRL {@code target_kl} 1; Spinning Up 0.01). */
  public float getTargetKl() {
    return targetKl;
  }

  public void setTargetKl(float v) {
    targetKl = v;
  }

  /** Value-model initialisation (InstructGPT: from the reward model). */
  public ValueInit getValueInit() {
    return valueInit;
  }

  public void setValueInit(ValueInit v) {
    valueInit = v;
  }

  /**
   * γ_ptx: weight of the SFT loss on demonstrations mixed into each step (PPO-ptx; InstructGPT 27.8
   * on pretraining data; 0 = plain PPO). Default 1: against an early reward model (0.55–0.71
   * held-out accuracy) plain PPO lowered held-out gold on both seeds tried, PPO-ptx raised it
   * (LoopExperiment, see the README).
   */
  public float getPtxCoef() {
    return ptxCoef;
  }

  public void setPtxCoef(float v) {
    ptxCoef = v;
  }

  /** Demonstrations per step for the PPO-ptx term. */
  public int getPtxBatchSize() {
    return ptxBatchSize;
  }

  public void setPtxBatchSize(int v) {
    ptxBatchSize = v;
  }

  /**
   * PPO iterations (rollout batch + its epochs) per round; a round ends with evaluation and a
   * version.
   */
  public int getIterationsPerRound() {
    return iterationsPerRound;
  }

  public void setIterationsPerRound(int v) {
    iterationsPerRound = v;
  }

  /** Held-out prompts evaluated at the end of a round (at most). */
  public int getEvalPrompts() {
    return evalPrompts;
  }

  public void setEvalPrompts(int v) {
    evalPrompts = v;
  }

  /** Responses sampled per held-out prompt and policy for the eval figures and win rates. */
  public int getEvalSamplesPerPrompt() {
    return evalSamplesPerPrompt;
  }

  public void setEvalSamplesPerPrompt(int v) {
    evalSamplesPerPrompt = v;
  }

  /**
   * Gate: a policy whose held-out KL to the SFT reference (nats/sequence) exceeds this is REJECTED
   * (2 × kl-target).
   */
  public double getMaxEvalKl() {
    return maxEvalKl;
  }

  public void setMaxEvalKl(double v) {
    maxEvalKl = v;
  }

  /** Gate: REJECTED if eval_mean_reward is below the previous policy's by more than this. */
  public double getRewardDropTolerance() {
    return rewardDropTolerance;
  }

  public void setRewardDropTolerance(double v) {
    rewardDropTolerance = v;
  }

  /**
   * Gate: with a confidence c &gt; 0, "fell" means shown to have fallen — REJECTED only when the
   * upper end of the two-sided c interval of the held-out reward's change against the previous
   * policy (paired by prompt and seed, percentile bootstrap over prompts) is below {@code
   * -reward-drop-tolerance}. 0: the point rule (the mean change below {@code
   * -reward-drop-tolerance}). Default 0.95: at 32 prompts × 4 samples the point rule rejected a
   * first PPO version in one end-to-end run of seven on a change of −0.019 (win rate 0.426 against
   * its parent, within 1.7 standard errors of a coin flip), and the next RL round came 3 minutes
   * later.
   */
  public double getRewardDropConfidence() {
    return rewardDropConfidence;
  }

  public void setRewardDropConfidence(double v) {
    rewardDropConfidence = v;
  }

  /**
   * Seed of prompt sampling, rollouts and evaluation (mixed with the round and iteration numbers).
   */
  public long getSeed() {
    return seed;
  }

  public void setSeed(long v) {
    seed = v;
  }
}
