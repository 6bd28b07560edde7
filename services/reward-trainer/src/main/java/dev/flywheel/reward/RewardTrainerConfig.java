package dev.flywheel.reward;

import dev.flywheel.model.GptConfig;
import dev.flywheel.schemas.topics.Topics;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Introspected;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Every setting of the reward trainer ({@code flywheel.reward-trainer.*}), in the spirit of TRL's
 * {@code RewardConfig}: each hyper-parameter is a named field with its default. Where a paper gives
 * a value it is cited; where our tiny byte-level models need a different one (InstructGPT
 * fine-tuned a pretrained 6B model; ours train from scratch on two CPU cores) both are stated.
 *
 * <p>All fields are copied into the {@code hyperparameters} map of every version ({@link
 * #asMap()}).
 */
@ConfigurationProperties("flywheel.reward-trainer")
@Introspected
public class RewardTrainerConfig {

  // ---- optimisation
  // -------------------------------------------------------------------------------

  /**
   * Peak Adam learning rate. InstructGPT §C.2: 9e-6 for its 6B RM (pretrained trunk). A
   * from-scratch 0.1–1M-parameter byte model needs far more: default 1e-3.
   */
  private double learningRate = 1e-3;

  /** Linear warm-up steps at the start of every round (0: start at the peak). */
  private int warmupSteps = 5;

  /**
   * Shape of the decay after warm-up, over the round's steps: COSINE (InstructGPT §C.2: cosine down
   * to 10% of the peak), LINEAR or CONSTANT.
   */
  private String lrSchedule = "COSINE";

  /** Final learning rate as a fraction of the peak (InstructGPT: 0.1). */
  private double lrMinRatio = 0.1;

  /** Adam β1 (InstructGPT: 0.9). */
  private double adamBeta1 = 0.9;

  /** Adam β2 (InstructGPT and GPT-3: 0.95). */
  private double adamBeta2 = 0.95;

  /** Decoupled weight decay on matrices and embeddings (TRL/transformers default 0.0). */
  private double weightDecay = 0.0;

  /** Clip the global gradient norm to this (TRL/transformers and GPT-3: 1.0); 0 disables. */
  private double maxGradNorm = 1.0;

  /**
   * Comparison groups (ranked prompts, each with all its C(K,2) pairs as ONE batch element) per
   * optimizer step. InstructGPT §C.2: 64 prompts per batch. Default 32 on CPU.
   */
  private int batchSizeGroups = 32;

  /**
   * Passes over a round's data (new groups + replay sample). InstructGPT §3.5 trains one epoch:
   * more epochs over the same comparisons overfit. Default 1.
   */
  private int epochs = 1;

  /**
   * Optimizer-step budget of a small round: a round with few groups repeats its data (more epochs)
   * up to this many steps, and early stopping ({@link #validationFraction}) picks the epoch to
   * keep. One epoch over the few hundred groups of an early round is a dozen steps and leaves the
   * model near its start; all 200 steps over-fit it. Measured on the simulator (LoopExperiment
   * {@code --rm-sweep}, seed 1, 400 groups from the SFT policy, K=4, 300 held-out eval groups):
   * held-out loss 0.727 untrained, 0.666 after 2 epochs (26 steps; accuracy 0.61 against held-out
   * labelers, 0.68 against the gold order), 0.77 after 8 epochs; after 16 epochs (208 steps) 1.62
   * with training accuracy 0.91. 0 = just {@code epochs}. Default 200.
   */
  private int minStepsPerRound = 200;

  /**
   * Share of a repeating round's prompts (by prompt key, salted with the round) whose groups are
   * held back as a validation set: the round keeps the epoch with the lowest validation loss
   * ({@link RoundPlan}, {@link EarlyStopping}). The simulator showed why (LoopExperiment {@code
   * --rm-sweep}, 400 groups, seed 1): held-out loss was lowest after 2–3 epochs and rose to 1.6 by
   * epoch 16 (chance: 0.69) while training accuracy climbed to 0.91 — without it, {@link
   * #minStepsPerRound} over-fits the first round. Rounds of one epoch hold nothing back. 0 disables
   * (every round trains all its epochs on all its data). Default 0.1, the same share the eval split
   * uses.
   */
  private double validationFraction = 0.1;

  /**
   * Early stopping: a round stops after this many epochs in a row without a new lowest validation
   * loss, and keeps the best epoch's parameters (HF transformers {@code early_stopping_patience}).
   * 0 never stops early but still keeps the best epoch. Default 2.
   */
  private int earlyStoppingPatience = 2;

  /**
   * Replay: groups sampled from the buffer of already-trained groups, as a fraction of the round's
   * new groups (0.5: a round of 200 new groups also replays 100 old ones). Keeps a warm-started
   * model from drifting towards the latest data only. A round with no accepted version to start
   * from (a fresh model) replays the whole buffer instead: no parent carries what earlier rounds
   * saw, so after a first version rejected for want of evidence the next one learns from all the
   * data so far. 0 disables replay entirely.
   */
  private double replayFraction = 0.5;

  /**
   * Margin m in -log σ(r_w - r_l - m) (Llama 2's margin loss). 0 gives the InstructGPT loss
   * (default).
   */
  private double margin = 0.0;

  /**
   * Weight of a next-token loss on each group's chosen (tier-0) responses, added to the pairwise
   * loss; the logits come from the reward model's own hidden states through the tied token
   * embedding. It keeps the hidden states fit for language modelling while the scalar head learns
   * the preferences, against over-fitting a few hundred noisy rankings (Yang et al. 2024, "GRM",
   * SFT regulariser; their default weight 0.01 for 2B-8B models). 0 disables it.
   */
  private double lmCoef = 0.0;

  /** Random seed: model initialisation, replay sampling, shuffling (seed + round). */
  private long seed = 42;

  // ---- model
  // --------------------------------------------------------------------------------------

  /**
   * Model shape for a fresh (first) version: {@code tiny} (121k parameters, 64 tokens), {@code
   * small} (0.86M, 256 tokens; the CPU default of the demo loop) or {@code medium} (10.8M, for a
   * GPU). Later rounds warm-start from the accepted version's artifact and keep its shape.
   */
  private String modelPreset = "small";

  /**
   * Initialise the first reward model's trunk from the latest LIVE SFT policy (InstructGPT §3.5:
   * the RM starts from the SFT model with its unembedding replaced by a scalar head), so it starts
   * from the policy's knowledge of the prompts instead of random weights. Falls back to a fresh
   * {@link #modelPreset} model when no SFT policy exists yet. Default true.
   */
  private boolean initFromPolicy = true;

  /** Policy versions topic read for {@link #initFromPolicy}. */
  private String policyVersionsTopic = Topics.POLICY_VERSIONS.name();

  /**
   * Dropout of a fresh model while training. TRL {@code RewardConfig.disable_dropout=True}: default
   * 0.0.
   */
  private double dropout = 0.0;

  /** DJL device: {@code auto} (GPU if PyTorch sees one), {@code cpu}, {@code gpu:N}. */
  private String device = "auto";

  // ---- rounds
  // -------------------------------------------------------------------------------------

  /** Round trigger N: a round starts as soon as this many new train-split groups are waiting. */
  private int roundMinGroups = 256;

  /**
   * Round trigger T: a round also starts when the oldest waiting train-split group has waited this
   * long (counted from its arrival, or from the end of the round it arrived during). Counting from
   * the first group, not from the trainer's start, keeps a trainer that started long before the
   * first ranking from training its first version on the first handful of groups.
   */
  private Duration roundMaxWait = Duration.ofMinutes(10);

  /**
   * No round starts before the eval set holds this many groups (the gate needs held-out data). The
   * gate compares accuracies on this set, and against a held-out LABELER a useful reward model is
   * only a little above chance: on the simulator's SFT samples a model at 0.66–0.70 accuracy
   * against the gold order scored 0.55–0.61 against held-out labelers (their gold gaps are small
   * next to the labelers' noise). At K=4 (6 pairs a group, correlated within a group) the standard
   * error of that accuracy is about 0.05 at 20 groups and 0.025 at 100: on 20–35 groups a first
   * model that was better than chance was rejected in two runs of three. Default 100 (about 1,000
   * rankings at a 10% held-out share).
   */
  private int minEvalGroups = 100;

  /**
   * Staleness bound: drop (from training, not from eval) groups whose newest response came from a
   * policy version more than this many versions older than the newest policy version seen in the
   * comparisons. Groups without policy versions are never stale. -1 disables (default).
   */
  private long maxPolicyStaleness = -1;

  /**
   * Buffer bound: the newest this-many trained groups are kept for replay (older ones are evicted).
   */
  private int bufferMaxGroups = 20_000;

  /** Eval set bound: the newest this-many eval-split groups are kept. */
  private int evalMaxGroups = 2_000;

  /**
   * Evaluate on the eval split every this many optimizer steps within a round (metrics phase {@code
   * eval}); 0 evaluates only at the end of each round (always done: the gate needs it).
   */
  private int evalEverySteps = 0;

  /** Number of equal-count buckets of |r_w - r_l| for the calibration metrics. */
  private int calibrationBuckets = 5;

  /**
   * Gate: the two-sided confidence level of the bootstrap intervals the gate decides on (95%, the
   * level of the rest of the project's intervals); 0 compares point estimates, the seed's rule,
   * which on 100 eval groups (standard error ~0.025) accepted versions that were a few points worse
   * than their parent and first versions indistinguishable from chance (the 0.51). See
   * {@link RewardGate}.
   */
  private double gateConfidence = 0.95;

  /**
   * Gate, against the accepted parent: the new version is accepted (LIVE) only if the lower end of
   * the paired interval of its accuracy minus the parent's (same eval groups) is at least minus
   * this tolerance — "not worse than the parent by more than this, with 95% confidence"; otherwise
   * it is REJECTED. Two points: paired on 100 groups the difference's interval is about ±0.02 wide,
   * so a version as good as its parent passes and one a few points worse does not.
   */
  private double gateTolerance = 0.02;

  /**
   * Gate: a first version (or one without a usable parent) is accepted only if the lower end of its
   * accuracy interval is at least this (0.5 = chance: shown better than chance); a version with a
   * parent must also score at least this on its point estimate.
   */
  private double gateMinAccuracy = 0.5;

  /**
   * Reward normalisation (InstructGPT §3.5): at most this many reference responses (the latest
   * demonstrations from {@code feedback.demonstrations}; if there are none, the chosen — tier 0 —
   * responses of the eval set) are scored; their mean raw score is the version's {@code
   * rewardOffset}.
   */
  private int maxReferenceResponses = 512;

  // ---- bookkeeping
  // --------------------------------------------------------------------------------

  /** Optimizer steps between mid-round checkpoints (model + round state); 0 disables them. */
  private int checkpointEverySteps = 50;

  /** Checkpoints kept on disk. */
  private int checkpointsKept = 2;

  /** Publish a {@code reward} TrainingMetrics event every this many steps. */
  private int metricsEverySteps = 1;

  /** Least time between two progress log lines. */
  private Duration progressInterval = Duration.ofSeconds(10);

  /**
   * Root of the LocalArtifactStore the versions' artifacts are written to ({@code
   * reward/v<N>-<sha>}).
   */
  private String artifactRoot = "artifacts";

  /** Directory of the trainer's checkpoints (must survive restarts: a volume in production). */
  private String checkpointDir = "checkpoints/reward-trainer";

  /** Consumer group whose committed offsets mark the input already in a published version. */
  private String groupId = "reward-trainer";

  /**
   * Transactional id of the version publisher: versions and input offsets commit atomically; a
   * second instance with the same id fences the first.
   */
  private String transactionalId = "reward-trainer";

  private String comparisonsTopic = Topics.TRAINING_COMPARISONS.name();
  private String versionsTopic = Topics.REWARD_VERSIONS.name();
  private String metricsTopic = Topics.TRAINING_METRICS.name();
  private String demonstrationsTopic = Topics.FEEDBACK_DEMONSTRATIONS.name();
  private String deadLettersTopic = Topics.DEAD_LETTERS.name();

  /** Where the annotator agreement ceiling comes from: TrainingMetrics source ... */
  private String ceilingSource = "pair-assembler";

  /** ... phase ... */
  private String ceilingPhase = "agreement";

  /** ... and value name (the latest such event wins). */
  private String ceilingValue = "agreement_rate";

  /** How many of the newest training.metrics records are scanned for the ceiling at start-up. */
  private int ceilingScanRecords = 20_000;

  /** Timeout of start-up reads and of publishing a version. */
  private Duration kafkaTimeout = Duration.ofSeconds(60);

  /** The model shape a fresh version gets: {@link #modelPreset} with {@link #dropout}. */
  public GptConfig freshModelConfig() {
    GptConfig preset =
        switch (modelPreset.toLowerCase(Locale.ROOT)) {
          case "tiny" -> GptConfig.tiny();
          case "small" -> GptConfig.small();
          case "medium" -> GptConfig.medium();
          default ->
              throw new IllegalArgumentException(
                  "unknown model preset '" + modelPreset + "' (tiny, small, medium)");
        };
    return preset.withDropout((float) dropout);
  }

  /**
   * Every field as {@code kebab-case name -> value}, in declaration order: the versions'
   * hyperparameters.
   */
  public Map<String, String> asMap() {
    Map<String, String> out = new LinkedHashMap<>();
    for (Field f : RewardTrainerConfig.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      try {
        out.put(kebab(f.getName()), String.valueOf(f.get(this)));
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  /** Throws IllegalArgumentException naming the first invalid setting. */
  public void validate() {
    require(learningRate > 0, "learning-rate must be > 0");
    require(warmupSteps >= 0, "warmup-steps must be >= 0");
    require(lrMinRatio >= 0 && lrMinRatio <= 1, "lr-min-ratio must be in [0, 1]");
    require(batchSizeGroups >= 1, "batch-size-groups must be >= 1");
    require(epochs >= 1, "epochs must be >= 1");
    require(minStepsPerRound >= 0, "min-steps-per-round must be >= 0");
    require(
        validationFraction >= 0 && validationFraction < 1, "validation-fraction must be in [0, 1)");
    require(earlyStoppingPatience >= 0, "early-stopping-patience must be >= 0");
    require(replayFraction >= 0, "replay-fraction must be >= 0");
    require(lmCoef >= 0, "lm-coef must be >= 0");
    require(roundMinGroups >= 1, "round-min-groups must be >= 1");
    require(bufferMaxGroups >= 0 && evalMaxGroups >= 1, "buffer/eval bounds must be positive");
    require(minEvalGroups >= 1, "min-eval-groups must be >= 1");
    require(calibrationBuckets >= 1, "calibration-buckets must be >= 1");
    require(gateTolerance >= 0, "gate-tolerance must be >= 0");
    require(gateConfidence >= 0 && gateConfidence < 1, "gate-confidence must be in [0, 1)");
    require(metricsEverySteps >= 1, "metrics-every-steps must be >= 1");
    require(checkpointsKept >= 1, "checkpoints-kept must be >= 1");
    require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
    dev.flywheel.model.LearningRateSchedule.Decay.valueOf(lrSchedule.toUpperCase(Locale.ROOT));
    freshModelConfig();
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException("flywheel.reward-trainer." + message);
    }
  }

  // ---- accessors
  // ----------------------------------------------------------------------------------

  public double getLearningRate() {
    return learningRate;
  }

  public void setLearningRate(double v) {
    learningRate = v;
  }

  public int getWarmupSteps() {
    return warmupSteps;
  }

  public void setWarmupSteps(int v) {
    warmupSteps = v;
  }

  public String getLrSchedule() {
    return lrSchedule;
  }

  public void setLrSchedule(String v) {
    lrSchedule = v;
  }

  public double getLrMinRatio() {
    return lrMinRatio;
  }

  public void setLrMinRatio(double v) {
    lrMinRatio = v;
  }

  public double getAdamBeta1() {
    return adamBeta1;
  }

  public void setAdamBeta1(double v) {
    adamBeta1 = v;
  }

  public double getAdamBeta2() {
    return adamBeta2;
  }

  public void setAdamBeta2(double v) {
    adamBeta2 = v;
  }

  public double getWeightDecay() {
    return weightDecay;
  }

  public void setWeightDecay(double v) {
    weightDecay = v;
  }

  public double getMaxGradNorm() {
    return maxGradNorm;
  }

  public void setMaxGradNorm(double v) {
    maxGradNorm = v;
  }

  public int getBatchSizeGroups() {
    return batchSizeGroups;
  }

  public void setBatchSizeGroups(int v) {
    batchSizeGroups = v;
  }

  public int getEpochs() {
    return epochs;
  }

  public void setEpochs(int v) {
    epochs = v;
  }

  public int getMinStepsPerRound() {
    return minStepsPerRound;
  }

  public void setMinStepsPerRound(int v) {
    minStepsPerRound = v;
  }

  /**
   * Epochs of a round over {@code groups} groups: {@link #getEpochs()}, raised to reach {@link
   * #getMinStepsPerRound()}.
   */
  public int epochsFor(int groups) {
    int stepsPerEpoch = Math.max(1, stepsPerEpoch(groups));
    return Math.max(epochs, (minStepsPerRound + stepsPerEpoch - 1) / stepsPerEpoch);
  }

  /** Optimizer steps of one pass over {@code groups} groups (the last batch may be short). */
  public int stepsPerEpoch(int groups) {
    return (groups + batchSizeGroups - 1) / batchSizeGroups;
  }

  public double getValidationFraction() {
    return validationFraction;
  }

  public void setValidationFraction(double v) {
    validationFraction = v;
  }

  public int getEarlyStoppingPatience() {
    return earlyStoppingPatience;
  }

  public void setEarlyStoppingPatience(int v) {
    earlyStoppingPatience = v;
  }

  public double getReplayFraction() {
    return replayFraction;
  }

  public void setReplayFraction(double v) {
    replayFraction = v;
  }

  public double getMargin() {
    return margin;
  }

  public void setMargin(double v) {
    margin = v;
  }

  public double getLmCoef() {
    return lmCoef;
  }

  public void setLmCoef(double v) {
    lmCoef = v;
  }

  public long getSeed() {
    return seed;
  }

  public void setSeed(long v) {
    seed = v;
  }

  public boolean isInitFromPolicy() {
    return initFromPolicy;
  }

  public void setInitFromPolicy(boolean v) {
    initFromPolicy = v;
  }

  public String getPolicyVersionsTopic() {
    return policyVersionsTopic;
  }

  public void setPolicyVersionsTopic(String v) {
    policyVersionsTopic = v;
  }

  public String getModelPreset() {
    return modelPreset;
  }

  public void setModelPreset(String v) {
    modelPreset = v;
  }

  public double getDropout() {
    return dropout;
  }

  public void setDropout(double v) {
    dropout = v;
  }

  public String getDevice() {
    return device;
  }

  public void setDevice(String v) {
    device = v;
  }

  public int getRoundMinGroups() {
    return roundMinGroups;
  }

  public void setRoundMinGroups(int v) {
    roundMinGroups = v;
  }

  public Duration getRoundMaxWait() {
    return roundMaxWait;
  }

  public void setRoundMaxWait(Duration v) {
    roundMaxWait = v;
  }

  public int getMinEvalGroups() {
    return minEvalGroups;
  }

  public void setMinEvalGroups(int v) {
    minEvalGroups = v;
  }

  public long getMaxPolicyStaleness() {
    return maxPolicyStaleness;
  }

  public void setMaxPolicyStaleness(long v) {
    maxPolicyStaleness = v;
  }

  public int getBufferMaxGroups() {
    return bufferMaxGroups;
  }

  public void setBufferMaxGroups(int v) {
    bufferMaxGroups = v;
  }

  public int getEvalMaxGroups() {
    return evalMaxGroups;
  }

  public void setEvalMaxGroups(int v) {
    evalMaxGroups = v;
  }

  public int getEvalEverySteps() {
    return evalEverySteps;
  }

  public void setEvalEverySteps(int v) {
    evalEverySteps = v;
  }

  public int getCalibrationBuckets() {
    return calibrationBuckets;
  }

  public void setCalibrationBuckets(int v) {
    calibrationBuckets = v;
  }

  public double getGateTolerance() {
    return gateTolerance;
  }

  public void setGateTolerance(double v) {
    gateTolerance = v;
  }

  public double getGateConfidence() {
    return gateConfidence;
  }

  public void setGateConfidence(double v) {
    gateConfidence = v;
  }

  public double getGateMinAccuracy() {
    return gateMinAccuracy;
  }

  public void setGateMinAccuracy(double v) {
    gateMinAccuracy = v;
  }

  public int getMaxReferenceResponses() {
    return maxReferenceResponses;
  }

  public void setMaxReferenceResponses(int v) {
    maxReferenceResponses = v;
  }

  public int getCheckpointEverySteps() {
    return checkpointEverySteps;
  }

  public void setCheckpointEverySteps(int v) {
    checkpointEverySteps = v;
  }

  public int getCheckpointsKept() {
    return checkpointsKept;
  }

  public void setCheckpointsKept(int v) {
    checkpointsKept = v;
  }

  public int getMetricsEverySteps() {
    return metricsEverySteps;
  }

  public void setMetricsEverySteps(int v) {
    metricsEverySteps = v;
  }

  public Duration getProgressInterval() {
    return progressInterval;
  }

  public void setProgressInterval(Duration v) {
    progressInterval = v;
  }

  public String getArtifactRoot() {
    return artifactRoot;
  }

  public void setArtifactRoot(String v) {
    artifactRoot = v;
  }

  public String getCheckpointDir() {
    return checkpointDir;
  }

  public void setCheckpointDir(String v) {
    checkpointDir = v;
  }

  public String getGroupId() {
    return groupId;
  }

  public void setGroupId(String v) {
    groupId = v;
  }

  public String getTransactionalId() {
    return transactionalId;
  }

  public void setTransactionalId(String v) {
    transactionalId = v;
  }

  public String getComparisonsTopic() {
    return comparisonsTopic;
  }

  public void setComparisonsTopic(String v) {
    comparisonsTopic = v;
  }

  public String getVersionsTopic() {
    return versionsTopic;
  }

  public void setVersionsTopic(String v) {
    versionsTopic = v;
  }

  public String getMetricsTopic() {
    return metricsTopic;
  }

  public void setMetricsTopic(String v) {
    metricsTopic = v;
  }

  public String getDemonstrationsTopic() {
    return demonstrationsTopic;
  }

  public void setDemonstrationsTopic(String v) {
    demonstrationsTopic = v;
  }

  public String getDeadLettersTopic() {
    return deadLettersTopic;
  }

  public void setDeadLettersTopic(String v) {
    deadLettersTopic = v;
  }

  public String getCeilingSource() {
    return ceilingSource;
  }

  public void setCeilingSource(String v) {
    ceilingSource = v;
  }

  public String getCeilingPhase() {
    return ceilingPhase;
  }

  public void setCeilingPhase(String v) {
    ceilingPhase = v;
  }

  public String getCeilingValue() {
    return ceilingValue;
  }

  public void setCeilingValue(String v) {
    ceilingValue = v;
  }

  public int getCeilingScanRecords() {
    return ceilingScanRecords;
  }

  public void setCeilingScanRecords(int v) {
    ceilingScanRecords = v;
  }

  public Duration getKafkaTimeout() {
    return kafkaTimeout;
  }

  public void setKafkaTimeout(Duration v) {
    kafkaTimeout = v;
  }
}
