package dev.flywheel.policy.config;

import dev.flywheel.model.GptConfig;
import dev.flywheel.schemas.topics.Topics;
import io.micronaut.context.annotation.ConfigurationProperties;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The service's own settings, {@code flywheel.policy-trainer.*}: where things are, what triggers a
 * round, and the promotion rule. The training hyper-parameters are in {@code
 * dev.flywheel.policy.train.SftConfig} ({@code .sft.*}), {@code PpoConfig} ({@code .ppo.*}) and
 * {@code DpoConfig} ({@code .dpo.*}); Kafka and the schema registry come from the service kit
 * ({@code flywheel.kafka.*}, {@code flywheel.registry.*}).
 */
@ConfigurationProperties("flywheel.policy-trainer")
public class PolicyTrainerConfig {

  private boolean enabled = true;
  private String device = "auto";
  private String artifactRoot = "artifacts";
  private String stateDir = "state/policy-trainer";
  private String transactionalId = "policy-trainer";
  private boolean autoPromote = true;
  private String modelPreset = "small";
  private int contextLength = 0;
  private long initSeed = 42L;

  private String demonstrationsTopic = Topics.FEEDBACK_DEMONSTRATIONS.name();
  private String transcriptsTopic = Topics.CHAT_TRANSCRIPTS.name();
  private String comparisonsTopic = Topics.TRAINING_COMPARISONS.name();
  private String rewardVersionsTopic = Topics.REWARD_VERSIONS.name();
  private String policyVersionsTopic = Topics.POLICY_VERSIONS.name();
  private String metricsTopic = Topics.TRAINING_METRICS.name();
  private String deadLettersTopic = Topics.DEAD_LETTERS.name();

  private int minDemonstrations = 16;
  private boolean sftRetrain = true;
  private int sftRetrainMinNew = 100;
  private boolean sftContinue = true;
  private boolean sftContinueYields = true;
  private int maxDemonstrations = 100_000;
  private int sftCheckpointEvery = 100;

  private Duration ppoSchedule = Duration.ZERO;
  private int ppoCheckpointEvery = 1;
  private int minTrainPrompts = 8;

  private String promptsFile = "";
  private boolean builtinPrompts = true;
  private int transcriptWindow = 2000;
  private double promptEvalFraction = 0.1;

  private Duration pollInterval = Duration.ofSeconds(1);
  private Duration kafkaTimeout = Duration.ofSeconds(30);

  /** The policy shape of a new SFT root: the preset, with {@link #getContextLength()} if set. */
  public GptConfig modelConfig() {
    GptConfig base =
        switch (modelPreset.toLowerCase(Locale.ROOT)) {
          case "tiny" -> GptConfig.tiny();
          case "small" -> GptConfig.small();
          case "medium" -> GptConfig.medium();
          default ->
              throw new IllegalArgumentException(
                  "flywheel.policy-trainer.model-preset must be tiny, small or medium: "
                      + modelPreset);
        };
    return contextLength > 0 ? base.withContextLength(contextLength) : base;
  }

  /** Service settings that shape a version, for {@code PolicyVersion.hyperparameters}. */
  public Map<String, String> toMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("auto-promote", String.valueOf(autoPromote));
    m.put("model-preset", modelPreset);
    m.put("sft-continue", String.valueOf(sftContinue));
    m.put("sft-continue-yields", String.valueOf(sftContinueYields));
    m.put("prompt-eval-fraction", String.valueOf(promptEvalFraction));
    m.put("transcript-window", String.valueOf(transcriptWindow));
    m.put("builtin-prompts", String.valueOf(builtinPrompts));
    m.put("prompts-file", promptsFile);
    return m;
  }

  /** Start the training loop with the application (tests of the HTTP endpoints turn it off). */
  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean v) {
    enabled = v;
  }

  /** Where models live: {@code auto} (first GPU, else CPU), {@code cpu}, {@code gpu:N}. */
  public String getDevice() {
    return device;
  }

  public void setDevice(String v) {
    device = v;
  }

  /**
   * Root of the local artifact store shared with serving and the model registry ({@code file:}
   * URIs).
   */
  public String getArtifactRoot() {
    return artifactRoot;
  }

  public void setArtifactRoot(String v) {
    artifactRoot = v;
  }

  /** Checkpoints of the round in progress (keep it on a persistent volume). */
  public String getStateDir() {
    return stateDir;
  }

  public void setStateDir(String v) {
    stateDir = v;
  }

  /**
   * Kafka transactional id of the version publisher: one per logical trainer; a second instance
   * fences the first.
   */
  public String getTransactionalId() {
    return transactionalId;
  }

  public void setTransactionalId(String v) {
    transactionalId = v;
  }

  /**
   * A PPO policy that passes the gate is published LIVE instead of CANDIDATE (default on: the local
   * platform has no human in the loop). The first SFT policy is always LIVE.
   */
  public boolean isAutoPromote() {
    return autoPromote;
  }

  public void setAutoPromote(boolean v) {
    autoPromote = v;
  }

  /** Shape of a new SFT root: tiny (121k parameters), small (0.86M, default), medium (10.8M). */
  public String getModelPreset() {
    return modelPreset;
  }

  public void setModelPreset(String v) {
    modelPreset = v;
  }

  /** Override of the preset's context length (0: the preset's). */
  public int getContextLength() {
    return contextLength;
  }

  public void setContextLength(int v) {
    contextLength = v;
  }

  /** Seed of a new SFT root's initial weights. */
  public long getInitSeed() {
    return initSeed;
  }

  public void setInitSeed(long v) {
    initSeed = v;
  }

  public String getDemonstrationsTopic() {
    return demonstrationsTopic;
  }

  public void setDemonstrationsTopic(String v) {
    demonstrationsTopic = v;
  }

  public String getTranscriptsTopic() {
    return transcriptsTopic;
  }

  public void setTranscriptsTopic(String v) {
    transcriptsTopic = v;
  }

  /**
   * The ranked comparison groups a DPO round trains on ({@code ppo.algorithm=dpo} only; no other
   * algorithm reads it).
   */
  public String getComparisonsTopic() {
    return comparisonsTopic;
  }

  public void setComparisonsTopic(String v) {
    comparisonsTopic = v;
  }

  public String getRewardVersionsTopic() {
    return rewardVersionsTopic;
  }

  public void setRewardVersionsTopic(String v) {
    rewardVersionsTopic = v;
  }

  public String getPolicyVersionsTopic() {
    return policyVersionsTopic;
  }

  public void setPolicyVersionsTopic(String v) {
    policyVersionsTopic = v;
  }

  public String getMetricsTopic() {
    return metricsTopic;
  }

  public void setMetricsTopic(String v) {
    metricsTopic = v;
  }

  public String getDeadLettersTopic() {
    return deadLettersTopic;
  }

  public void setDeadLettersTopic(String v) {
    deadLettersTopic = v;
  }

  /** Demonstrations needed before the first SFT round. */
  public int getMinDemonstrations() {
    return minDemonstrations;
  }

  public void setMinDemonstrations(int v) {
    minDemonstrations = v;
  }

  /** Run further SFT rounds as demonstrations arrive. */
  public boolean isSftRetrain() {
    return sftRetrain;
  }

  public void setSftRetrain(boolean v) {
    sftRetrain = v;
  }

  /** New demonstrations (since the latest SFT version's data) that trigger a further SFT round. */
  public int getSftRetrainMinNew() {
    return sftRetrainMinNew;
  }

  public void setSftRetrainMinNew(int v) {
    sftRetrainMinNew = v;
  }

  /**
   * Go on training the latest SFT version in further rounds on the same demonstrations when the
   * loop would otherwise wait, until {@code sft.epochs} are done or its eval loss stops improving
   * ({@link dev.flywheel.policy.train.SftContinuation}): {@code sft.max-steps} caps one round, not
   * SFT.
   */
  public boolean isSftContinue() {
    return sftContinue;
  }

  public void setSftContinue(boolean v) {
    sftContinue = v;
  }

  /**
   * A continuation round ({@link #isSftContinue()}) gives way when the first RL round (the first
   * DPO round with {@code ppo.algorithm=dpo}) becomes due — a reward model accepted while it
   * trains: it ends at its next step, publishing nothing, and the RL round starts on the latest SFT
   * version instead of after the rest of the round (up to {@code sft.max-steps}: 47 to 250 s of a
   * 2-core machine in the e2e runs). Continuations go on while the loop waits again. Later RL
   * rounds do not interrupt one: only the first RL version is waited for by everyone. Default true.
   */
  public boolean isSftContinueYields() {
    return sftContinueYields;
  }

  public void setSftContinueYields(boolean v) {
    sftContinueYields = v;
  }

  /** Most recent demonstrations kept in memory for SFT and PPO-ptx. */
  public int getMaxDemonstrations() {
    return maxDemonstrations;
  }

  public void setMaxDemonstrations(int v) {
    maxDemonstrations = v;
  }

  /** SFT steps between checkpoints. */
  public int getSftCheckpointEvery() {
    return sftCheckpointEvery;
  }

  public void setSftCheckpointEvery(int v) {
    sftCheckpointEvery = v;
  }

  /**
   * A PPO round also starts this long after the last PPO version, on the reward model it already
   * optimised (0, the default: only on a new reward model or a fresh SFT base). Off by default:
   * further rounds on the same reward model lost the first round's gain on held-out gold (README,
   * "RL rounds back to back").
   */
  public Duration getPpoSchedule() {
    return ppoSchedule;
  }

  public void setPpoSchedule(Duration v) {
    ppoSchedule = v;
  }

  /** PPO iterations between checkpoints. */
  public int getPpoCheckpointEvery() {
    return ppoCheckpointEvery;
  }

  public void setPpoCheckpointEvery(int v) {
    ppoCheckpointEvery = v;
  }

  /** Training prompts needed before a PPO round starts. */
  public int getMinTrainPrompts() {
    return minTrainPrompts;
  }

  public void setMinTrainPrompts(int v) {
    minTrainPrompts = v;
  }

  /** A file of extra prompts, one user prompt per line ('#' comments); empty for none. */
  public String getPromptsFile() {
    return promptsFile;
  }

  public void setPromptsFile(String v) {
    promptsFile = v;
  }

  /**
   * Include the built-in prompt set of the synthetic product (arithmetic, tone, safety, brevity).
   */
  public boolean isBuiltinPrompts() {
    return builtinPrompts;
  }

  public void setBuiltinPrompts(boolean v) {
    builtinPrompts = v;
  }

  /**
   * Most recent transcripts per partition kept as PPO prompts (read from end − window at start).
   */
  public int getTranscriptWindow() {
    return transcriptWindow;
  }

  public void setTranscriptWindow(int v) {
    transcriptWindow = v;
  }

  /**
   * Held-out share of prompts, by prompt key; must equal the pair assembler's {@code eval.fraction}
   * (0.1).
   */
  public double getPromptEvalFraction() {
    return promptEvalFraction;
  }

  public void setPromptEvalFraction(double v) {
    promptEvalFraction = v;
  }

  /** How long the loop waits for input when idle. */
  public Duration getPollInterval() {
    return pollInterval;
  }

  public void setPollInterval(Duration v) {
    pollInterval = v;
  }

  /** Kafka timeouts: ledger reads, publishing. */
  public Duration getKafkaTimeout() {
    return kafkaTimeout;
  }

  public void setKafkaTimeout(Duration v) {
    kafkaTimeout = v;
  }
}
