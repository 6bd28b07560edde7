package dev.flywheel.policy.service;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.IterationStats;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One RL round of the policy trainer ({@code ppo.algorithm}: PPO, RLOO, GRPO or online DPO through
 * {@link PolicyOptimizer}): the accepted reward model against the base policy ({@link
 * RlRoundState}), its models and optimizer ({@link RlRoundSetup}), {@code iterations-per-round}
 * iterations with checkpoints ({@link RlIterationPlan}), the held-out evaluation and the {@link
 * PromotionGate} ({@link RlEvaluation}) and the publication ({@link RlVersionDescription}).
 */
final class RlRound {

  private static final Logger LOG = LoggerFactory.getLogger(RlRound.class);

  private final PolicyTrainerConfig config;
  private final PpoConfig ppoConfig;
  private final VersionLedger<PolicyVersion> policies;
  private final VersionLedger<RewardModelVersion> rewards;
  private final MetricsPublisher metrics;
  private final PromptPool prompts;
  private final InputFeed feed;
  private final PolicyTrainerStatus status;
  private final RoundScheduler scheduler;
  private final PolicyPublisher output;
  private final BooleanSupplier stop;
  private final RolloutConfig rolloutConfig;
  private final KafkaSettings kafka;
  private final RlRoundSetup setup;
  private final RlEvaluation evaluation;
  private final RlVersionDescription description;

  RlRound(
      PolicyTrainerConfig config,
      SftConfig sftConfig,
      PpoConfig ppoConfig,
      NDManager manager,
      VersionLedger<PolicyVersion> policies,
      VersionLedger<RewardModelVersion> rewards,
      MetricsPublisher metrics,
      PromptPool prompts,
      InputFeed feed,
      PolicyTrainerStatus status,
      RoundScheduler scheduler,
      PolicyPublisher output,
      BooleanSupplier stop,
      RolloutConfig rolloutConfig,
      KafkaSettings kafka) {
    this.rolloutConfig = rolloutConfig;
    this.kafka = kafka;
    this.config = config;
    this.ppoConfig = ppoConfig;
    this.policies = policies;
    this.rewards = rewards;
    this.metrics = metrics;
    this.prompts = prompts;
    this.feed = feed;
    this.status = status;
    this.scheduler = scheduler;
    this.output = output;
    this.stop = stop;
    this.setup = new RlRoundSetup(sftConfig, ppoConfig, manager, feed, output);
    this.evaluation = new RlEvaluation(config, ppoConfig, prompts);
    this.description = new RlVersionDescription(config, ppoConfig, rolloutConfig, feed);
  }

  /**
   * What the round divides offset-corrected reward-model scores by: the version's published {@code
   * reward_scale} under {@code ppo.score-normalization: reward-model}, else 1. A version published
   * before the scale existed (or with an unusable one) scores on the raw scale, with a warning.
   */
  static double rewardScale(PpoConfig ppo, RewardModelVersion rm) {
    if (ppo.getScoreNormalization() != PpoConfig.ScoreNormalization.REWARD_MODEL) {
      return 1.0;
    }
    Double scale = rm.getMetrics().get(REWARD_SCALE);
    if (scale == null || !(scale > 0) || !Double.isFinite(scale)) {
      LOG.warn(
          "reward model v{} has no usable {} ({}): its scores are used unscaled",
          rm.getVersion(),
          REWARD_SCALE,
          scale);
      return 1.0;
    }
    return scale;
  }

  /** The reward trainer's metric: pooled within-group std of the version's eval scores. */
  static final String REWARD_SCALE = "reward_scale";

  /**
   * Whether a checkpointed RL round can go on: its reward model still LIVE, its base and reference
   * still known.
   */
  boolean resumable(Checkpoints.Checkpoint c) {
    Map<String, String> extra = c.state().extra();
    long rm = Long.parseLong(extra.getOrDefault("reward_version", "-1"));
    long base = Long.parseLong(extra.getOrDefault("base_version", "-1"));
    long ref = Long.parseLong(extra.getOrDefault("reference_version", "-1"));
    boolean rmOk = rewards.get(rm).map(v -> v.getStatus() == ModelStatus.LIVE).orElse(false);
    boolean policiesOk = policies.get(base).isPresent() && policies.get(ref).isPresent();
    if (!rmOk || !policiesOk) {
      LOG.warn(
          "PPO checkpoint {}: reward model v{} no longer LIVE or policy v{}/v{} gone",
          c.directory(),
          rm,
          base,
          ref);
    }
    return rmOk && policiesOk;
  }

  /**
   * Trains, evaluates, gates and publishes one RL version; {@code resume} continues a checkpointed
   * round.
   */
  void run(Checkpoints.Checkpoint resume) throws IOException, VersionPublisher.PublishException {
    status.phase(PolicyTrainerStatus.Phase.PPO);
    RlRoundState state =
        resume == null
            ? RlRoundState.start(rewards, policies, scheduler, prompts)
            : RlRoundState.resume(resume, rewards, policies);
    List<AutoCloseable> owned = new ArrayList<>();
    try {
      RlRoundSetup.Models models = setup.build(state, resume, owned);
      int iterations = ppoConfig.getIterationsPerRound();
      WorkerRolloutSource workers =
          rolloutConfig.getSource() == RolloutConfig.Source.WORKERS
              ? RoundRanges.own(owned, workerSource(state, models))
              : null;
      IterationStats last = iterate(state, models, workers, iterations);

      status.phase(PolicyTrainerStatus.Phase.EVALUATING);
      RlEvaluation.Outcome outcome = evaluation.evaluate(state.target(), models);
      Map<String, Double> m = description.metrics(outcome, last, state, models, iterations);
      metrics.publish("eval", state.target(), state.target(), iterations, m);

      status.phase(PolicyTrainerStatus.Phase.PUBLISHING);
      ModelStatus st = outcome.verdict().status();
      Map<String, String> hp = description.hyperparameters(state, models);
      List<OffsetRange> data = description.trainingData(state, models, workers);
      List<Long> parents = RlVersionDescription.parents(state);
      output.publish(
          PolicyStage.PPO,
          st,
          parents,
          state.rewardModel().getVersion(),
          models.policy(),
          m,
          hp,
          data,
          state.roundId());
      status.ppoRoundDone();
    } finally {
      for (int i = owned.size() - 1; i >= 0; i--) {
        try {
          owned.get(i).close();
        } catch (Exception e) {
          LOG.warn("closing {}: {}", owned.get(i), e.toString());
        }
      }
    }
  }

  /**
   * The round's iterations from {@code state.fromIteration()}, with metrics, status and checkpoints
   * every {@code ppo-checkpoint-every}; a stop checkpoints first. Returns the last iteration's
   * figures, null when there was none to train.
   */
  private IterationStats iterate(
      RlRoundState state, RlRoundSetup.Models models, WorkerRolloutSource workers, int iterations) {
    long target = state.target();
    int fromIteration = state.fromIteration();
    PolicyOptimizer trainer = models.trainer();
    RlIterationPlan plan = new RlIterationPlan(ppoConfig, prompts, target, iterations, trainer);
    LOG.info(
        "{} round for version {}: policy v{} (reference v{}) against reward model v{} (offset {}), iterations {}..{}, "
            + "β {}, value from {}",
        ppoConfig.toMap().get("ppo.algorithm"),
        target,
        state.base().getVersion(),
        state.referenceVersion(),
        state.rewardModel().getVersion(),
        state.rewardModel().getRewardOffset(),
        fromIteration + 1,
        iterations,
        trainer.kl().value(),
        state.valueInit());
    IterationStats last = null;
    for (int it = fromIteration; it < iterations; it++) {
      if (stop.getAsBoolean()) {
        if (it > fromIteration) {
          checkpointPpo(state, it, models);
        }
        throw new StopSignal();
      }
      feed.poll(Duration.ZERO);
      long seed = plan.seed(it);
      status.round(target, it);
      last =
          workers == null
              ? trainer.iterate(plan.trainPrompts(seed), seed)
              : trainer.iterate(workers.next(it, plan), rolloutConfig.getImportanceCap(), seed);
      if (workers != null) {
        state.recordRolloutBatches(workers.lineage());
      }
      state.recordMeanReward(last.meanReward());
      Map<String, Double> values = last.metrics();
      metrics.publish("ppo", target, target, it + 1, values);
      status.figures(values);
      status.ppoIteration();
      status.round(target, it + 1);
      LOG.info(
          String.format(
              Locale.ROOT,
              "ppo v%d iteration %d/%d: reward %.4f kl %.3f β %.4f entropy %.3f clip %.3f vloss %.4f ev %.3f | "
                  + "%d steps%s, %.0f rollout tok/s, generation %.0f%% of %.1fs",
              target,
              it + 1,
              iterations,
              last.meanReward(),
              last.kl(),
              last.beta(),
              last.entropy(),
              last.clipFraction(),
              last.valueLoss(),
              last.explainedVariance(),
              last.updateSteps(),
              last.earlyStopped() ? " (KL early stop)" : "",
              last.rolloutTokensPerSecond(),
              100 * last.generationShare(),
              last.totalSeconds()));
      if ((it + 1) % config.getPpoCheckpointEvery() == 0 && it + 1 < iterations) {
        checkpointPpo(state, it + 1, models);
      }
    }
    return last;
  }

  private WorkerRolloutSource workerSource(RlRoundState state, RlRoundSetup.Models models) {
    RewardModelVersion rm = state.rewardModel();
    Instant started = state.startedAt();
    return new WorkerRolloutSource(
        kafka,
        rolloutConfig,
        Path.of(config.getArtifactRoot()),
        new WorkerRolloutSource.Round(
            state.roundId(),
            state.base().getVersion(),
            rm.getVersion(),
            rm.getArtifactUri(),
            rm.getArtifactSha256(),
            rm.getRewardOffset(),
            models.rewardScale(),
            ppoConfig.effectiveSamplesPerPrompt(),
            ppoConfig.getMaxNewTokens(),
            ppoConfig.getMissingEosPenalty(),
            started),
        models.policy(),
        state.rolloutBatches(rolloutConfig.getBatchesTopic()),
        state.fromIteration(),
        stop);
  }

  private void checkpointPpo(RlRoundState state, int iteration, RlRoundSetup.Models models) {
    output.checkpoint(
        "ppo",
        state.target(),
        iteration,
        state.checkpointExtra(models.trainer()),
        models.policy(),
        models.value());
  }
}
