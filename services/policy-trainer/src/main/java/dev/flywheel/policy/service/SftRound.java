package dev.flywheel.policy.service;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.SftExample;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftContinuation;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.OffsetRanges;
import dev.flywheel.trainerkit.TrainingProgress;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One SFT round of the policy trainer: all demonstrations in, {@link SftTrainer} from a new root or
 * warm from the latest SFT version, checkpoints every {@code sft-checkpoint-every} steps, then the
 * status decision (REJECTED unless it imitates better than its parent, {@link #betterThanParent};
 * else {@link #sftStatus}) and the publication through {@link PolicyPublisher}.
 */
final class SftRound {

  private static final Logger LOG = LoggerFactory.getLogger(SftRound.class);

  /**
   * A continuation round that may give way ({@code sft-continue-yields}) reads the input and asks
   * the scheduler every this many steps (a poll and a few ledger scans; the steps take 0.2–0.5 s).
   */
  static final int YIELD_CHECK_EVERY = 10;

  /** Checkpoint key: the parent version's held-out loss on this round's split. */
  private static final String PARENT_EVAL_LOSS = "parent_eval_loss";

  private final PolicyTrainerConfig config;
  private final SftConfig sftConfig;
  private final NDManager manager;
  private final VersionLedger<PolicyVersion> policies;
  private final MetricsPublisher metrics;
  private final InputFeed feed;
  private final PolicyTrainerStatus status;
  private final RoundScheduler scheduler;
  private final PolicyPublisher output;
  private final BooleanSupplier stop;

  SftRound(
      PolicyTrainerConfig config,
      SftConfig sftConfig,
      NDManager manager,
      VersionLedger<PolicyVersion> policies,
      MetricsPublisher metrics,
      InputFeed feed,
      PolicyTrainerStatus status,
      RoundScheduler scheduler,
      PolicyPublisher output,
      BooleanSupplier stop) {
    this.config = config;
    this.sftConfig = sftConfig;
    this.manager = manager;
    this.policies = policies;
    this.metrics = metrics;
    this.feed = feed;
    this.status = status;
    this.scheduler = scheduler;
    this.output = output;
    this.stop = stop;
  }

  /**
   * Trains, evaluates and publishes one SFT version; {@code resume} continues a checkpointed round
   * (which knows whether it was a continuation), {@code continuation} a new round that goes on
   * training the latest SFT version on the same demonstrations ({@code sft-continue}).
   */
  void run(Checkpoints.Checkpoint resume, boolean continuation)
      throws IOException, VersionPublisher.PublishException {
    status.phase(PolicyTrainerStatus.Phase.SFT);
    Map<String, String> extra = new LinkedHashMap<>();
    long target;
    PolicyVersion base;
    Map<Integer, long[]> demoRange;
    if (resume == null) {
      extra.put("kind", "sft");
      extra.put("round_id", UUID.randomUUID().toString());
      extra.put("continuation", String.valueOf(continuation));
      target = policies.nextVersion();
      base = scheduler.latestSft().orElse(null);
      demoRange = new TreeMap<>();
      Map<Integer, Long> first = feed.firstDemoOffsets();
      feed.demoPositions()
          .forEach(
              (p, until) -> demoRange.put(p, new long[] {first.getOrDefault(p, until), until}));
      extra.put("base_version", base == null ? "" : String.valueOf(base.getVersion()));
      extra.put("demo_ranges", RoundRanges.encode(demoRange));
    } else {
      extra.putAll(resume.state().extra());
      target = Math.max(resume.state().round(), policies.nextVersion());
      String b = extra.getOrDefault("base_version", "");
      base = b.isEmpty() ? null : policies.get(Long.parseLong(b)).orElse(null);
      if (!b.isEmpty() && base == null) {
        LOG.warn("SFT checkpoint's base version {} is gone; discarding the checkpoint", b);
        output.clearCheckpoint();
        return;
      }
      demoRange = RoundRanges.decode(extra.get("demo_ranges"));
    }
    boolean continues = base != null && Boolean.parseBoolean(extra.get("continuation"));
    List<SftTrainer.Demo> demos =
        feed.demos().stream()
            .filter(d -> RoundRanges.contains(demoRange, d.partition(), d.offset()))
            .map(InputRecords.StoredDemo::demo)
            .toList();
    int fromStep = resume == null ? 0 : (int) resume.state().step();

    PolicyModel policy;
    LoadedModel loaded = null;
    if (resume != null) {
      loaded = ModelArtifacts.load(resume.file("policy"), null, manager);
      policy = loaded.policy();
    } else if (base != null) {
      loaded = output.loadVersion(base.getArtifactUri(), base.getArtifactSha256());
      policy = loaded.policy();
    } else {
      Engine.getInstance().setRandomSeed((int) config.getInitSeed());
      policy = PolicyModel.create(config.modelConfig(), manager);
    }
    try {
      int trainExamples =
          new SftTrainer(sftConfig).split(demos, policy.config().contextLength()).get(0).size();
      int chainBefore = base == null ? 0 : SftContinuation.chainSteps(base.getMetrics());
      int chainRound = continues ? SftContinuation.chainRound(base.getMetrics()) + 1 : 0;
      SftConfig roundConfig =
          continues
              ? SftContinuation.roundConfig(sftConfig, chainBefore, chainRound, trainExamples)
              : sftConfig;
      int restartStep = continues ? SftContinuation.restartStep(base.getMetrics()) : 0;
      SftTrainer.ScheduleWindow window =
          continues
              ? SftContinuation.window(sftConfig, chainBefore, restartStep, trainExamples)
              : null;
      SftTrainer trainer = new SftTrainer(roundConfig);
      int total = trainer.totalSteps(trainExamples);
      LOG.info(
          "SFT round for version {}: {} demonstrations, {} steps from step {}, {} ({})",
          target,
          demos.size(),
          total,
          fromStep,
          base == null
              ? "new root " + config.getModelPreset()
              : (continues ? "continuing v" : "warm start from v")
                  + base.getVersion()
                  + " (chain round "
                  + chainRound
                  + ", "
                  + chainBefore
                  + " steps so far)",
          policy);
      status.round(target, fromStep);
      TrainingProgress progress =
          TrainingProgress.start(LOG, "sft", target, 0, total, Duration.ofSeconds(10));
      long roundTarget = target;
      boolean yields = continues && config.isSftContinueYields();
      AtomicBoolean yielded = new AtomicBoolean();
      SftTrainer.Result result;
      try {
        result =
            trainer.train(
                policy,
                demos,
                fromStep,
                window,
                new SftTrainer.Listener() {
                  @Override
                  public void onStart(double evalLossBefore) {
                    // the parent's held-out loss, kept with the round's checkpoints: a resumed
                    // round comes in from its checkpoint, which is not what it is judged against
                    if (base != null && fromStep == 0) {
                      extra.put(PARENT_EVAL_LOSS, Double.toString(evalLossBefore));
                    }
                  }

                  @Override
                  public void onStep(int step, int totalSteps, float loss, float learningRate) {
                    progress.step(step, loss, Map.of("lr", learningRate));
                    status.round(roundTarget, step);
                    if (step % roundConfig.getLogEvery() == 0 || step == totalSteps) {
                      metrics.publish(
                          "sft",
                          roundTarget,
                          roundTarget,
                          step,
                          Map.of("loss", loss, "learning_rate", learningRate));
                      status.figures(Map.of("sft_loss", loss));
                    }
                    if (step % config.getSftCheckpointEvery() == 0 && step < totalSteps) {
                      output.checkpoint("sft", roundTarget, step, extra, policy, null);
                    }
                  }

                  @Override
                  public void onEval(int step, double evalLoss, boolean best) {
                    LOG.info(
                        "SFT version {} step {}: eval loss {}{}",
                        roundTarget,
                        step,
                        String.format(Locale.ROOT, "%.4f", evalLoss),
                        best ? " (best so far)" : "");
                    metrics.publish(
                        "sft", roundTarget, roundTarget, step, Map.of("step_eval_loss", evalLoss));
                  }

                  @Override
                  public boolean stopRequested() {
                    if (stop.getAsBoolean()) {
                      return true;
                    }
                    if (yields && status.step() % YIELD_CHECK_EVERY == 0) {
                      // the loop reads the versions topics between rounds only
                      feed.poll(Duration.ZERO);
                      yielded.set(scheduler.firstPolicyRoundDue());
                    }
                    return yielded.get();
                  }
                });
      } catch (SftTrainer.Stopped s) {
        if (yielded.get() && !stop.getAsBoolean()) {
          LOG.info(
              "SFT continuation round for version {} gives way at step {} of {} to the first RL "
                  + "(or DPO) round (sft-continue-yields); it publishes nothing, the chain goes on "
                  + "later",
              target,
              status.step(),
              total);
          output.clearCheckpoint();
          status.phase(PolicyTrainerStatus.Phase.IDLE);
          return;
        }
        int step = (int) status.step();
        if (step > fromStep) {
          output.checkpoint("sft", target, step, extra, policy, null);
        }
        throw new StopSignal();
      }
      LOG.info("SFT version {} trained: {}", target, result.metrics());
      metrics.publish("sft", target, target, result.steps(), result.metrics());

      status.phase(PolicyTrainerStatus.Phase.PUBLISHING);
      Map<String, Double> m = new LinkedHashMap<>(result.metrics());
      m.put(SftContinuation.CHAIN_STEPS, (double) (chainBefore + result.steps()));
      m.put(SftContinuation.CHAIN_ROUND, (double) chainRound);
      if (window != null) {
        m.put(SftContinuation.CHAIN_RESTART, (double) restartStep);
      }
      String parentLoss = extra.get(PARENT_EVAL_LOSS);
      if (parentLoss != null) {
        m.put("eval_loss_before", Double.parseDouble(parentLoss));
      }
      ModelStatus st;
      if (base != null && !betterThanParent(m, continues)) {
        // the parent imitates these held-out demonstrations better: it must stay the base PPO
        // continues from (a worse CANDIDATE would become it)
        LOG.info(
            "SFT version {} {} v{} without lowering its held-out loss ({} -> {}): REJECTED{}",
            target,
            continues ? "continued" : "retrained from",
            base.getVersion(),
            String.format(Locale.ROOT, "%.4f", m.getOrDefault("eval_loss_before", Double.NaN)),
            String.format(Locale.ROOT, "%.4f", result.evalLoss()),
            continues ? ", the chain ends" : "");
        st = ModelStatus.REJECTED;
      } else {
        st = sftStatus(trainer, demos, result, m);
      }
      Map<String, String> hp = new LinkedHashMap<>(roundConfig.toMap());
      hp.putAll(config.toMap());
      hp.put("round_id", extra.get("round_id"));
      hp.put("model", policy.config().toJson().replaceAll("\\s+", ""));
      hp.put(
          "init",
          base == null ? "random(seed=" + config.getInitSeed() + ")" : "v" + base.getVersion());
      m.put("demonstrations", (double) demos.size());
      OffsetRanges data = new OffsetRanges(config.getDemonstrationsTopic());
      demoRange.forEach((p, r) -> data.cover(p, r[0], r[1]));
      List<Long> parents = base == null ? List.of() : List.of(base.getVersion());
      output.publish(
          PolicyStage.SFT, st, parents, null, policy, m, hp, data.toList(), extra.get("round_id"));
      status.sftRoundDone();
      if (st != ModelStatus.REJECTED) {
        int chainSteps = chainBefore + result.steps();
        int budget = SftContinuation.budget(sftConfig, result.trainExamples());
        status.figures(Map.of("sft_chain_steps", chainSteps, "sft_chain_budget", budget));
        if (config.isSftContinue()) {
          LOG.info(
              "SFT chain after version {}: {} steps of {} ({} epochs): {}",
              target,
              chainSteps,
              budget,
              sftConfig.getEpochs(),
              SftContinuation.verdict(m, sftConfig));
        }
      }
    } finally {
      if (loaded != null) {
        loaded.close();
      } else {
        policy.close();
      }
    }
  }

  /**
   * Whether a round from a parent version imitates the held-out demonstrations better than the
   * parent did on the same split ({@code eval_loss} against {@code eval_loss_before}; true when
   * either is missing). A continuation must improve by {@code early-stopping-min-delta} ({@link
   * SftContinuation#improved}: less is a plateau, and the chain ends); a retrain on new
   * demonstrations must only not be worse.
   */
  private boolean betterThanParent(Map<String, Double> m, boolean continues) {
    if (continues) {
      return SftContinuation.improved(m, sftConfig);
    }
    double after = m.getOrDefault("eval_loss", Double.NaN);
    double before = m.getOrDefault("eval_loss_before", Double.NaN);
    return Double.isNaN(after) || Double.isNaN(before) || after < before;
  }

  /**
   * The status of a new SFT version that lowered its parent's held-out loss, if it has a parent
   * ({@link #betterThanParent}; else it is REJECTED before this): LIVE for the first policy
   * (serving needs one). Later, LIVE (with {@code auto-promote}) when the LIVE policy is an SFT
   * version whose held-out demonstration loss, measured now on this round's eval split, is higher
   * than the new version's — a retrained SFT must not wait as CANDIDATE while users are served a
   * worse one. A LIVE PPO version is not judged by imitation loss (RL trades it for reward): the
   * new SFT is then a CANDIDATE, and the next PPO round continues from it. Records {@code
   * live_eval_loss} (and {@code live_version}) in {@code metrics} when it compared.
   */
  private ModelStatus sftStatus(
      SftTrainer trainer,
      List<SftTrainer.Demo> demos,
      SftTrainer.Result result,
      Map<String, Double> metrics)
      throws IOException {
    Optional<PolicyVersion> live = policies.latestAccepted();
    if (live.isEmpty()) {
      return ModelStatus.LIVE;
    }
    if (!config.isAutoPromote()
        || live.get().getStage() != PolicyStage.SFT
        || Double.isNaN(result.evalLoss())) {
      return ModelStatus.CANDIDATE;
    }
    try (LoadedModel current =
        output.loadVersion(live.get().getArtifactUri(), live.get().getArtifactSha256())) {
      List<SftExample> eval =
          trainer.split(demos, current.policy().config().contextLength()).get(1);
      double liveLoss = SftTrainer.evalLoss(current.policy(), eval, sftConfig.getBatchSize());
      metrics.put("live_eval_loss", liveLoss);
      metrics.put("live_version", (double) live.get().getVersion());
      boolean better = result.evalLoss() < liveLoss;
      LOG.info(
          "SFT held-out loss {} against LIVE v{}'s {} on the same {} demonstrations: {}",
          String.format(Locale.ROOT, "%.4f", result.evalLoss()),
          live.get().getVersion(),
          String.format(Locale.ROOT, "%.4f", liveLoss),
          eval.size(),
          better ? "promoted LIVE" : "CANDIDATE");
      return better ? ModelStatus.LIVE : ModelStatus.CANDIDATE;
    }
  }
}
