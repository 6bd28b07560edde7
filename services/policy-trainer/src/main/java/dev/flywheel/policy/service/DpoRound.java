package dev.flywheel.policy.service;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.OfflineDpoTrainer;
import dev.flywheel.policy.train.PolicyEvaluator;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.ScoredRollout;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.OffsetRanges;
import dev.flywheel.trainerkit.TrainingProgress;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One DPO round of the policy trainer ({@code ppo.algorithm=dpo}): {@link OfflineDpoTrainer} from
 * the base policy, with the base as the frozen reference, on the TRAIN comparison groups held when
 * the round started; checkpoints every {@code dpo.checkpoint-every} steps; then the held-out
 * evaluation on the EVAL groups, {@link PromotionGate#judgeDpo} and the publication. The version's
 * stage is PPO: the schema knows only SFT and PPO, and PPO there stands for InstructGPT's step 3,
 * preference optimisation; {@code hyperparameters["ppo.algorithm"]} is {@code dpo}.
 */
final class DpoRound {

  private static final Logger LOG = LoggerFactory.getLogger(DpoRound.class);

  /** The checkpoint kind of a DPO round. */
  static final String KIND = "dpo";

  /** {@code hyperparameters["ppo.algorithm"]} of a DPO version. */
  static final String ALGORITHM = "dpo";

  /**
   * What a DPO round's checkpoint holds besides the policy's weights: enough to rebuild the same
   * round (same base, same groups) after a restart.
   *
   * @param roundId the round's id, stamped on its version as {@code round_id}: a checkpoint whose
   *     round is already published is discarded at start-up instead of published again
   * @param baseVersion the policy the round started from, also its reference
   * @param ranges per {@code training.comparisons} partition, the offsets [from, until) the round
   *     reads its groups from
   */
  record ResumeState(String roundId, long baseVersion, Map<Integer, long[]> ranges) {

    Map<String, String> toExtra() {
      Map<String, String> extra = new LinkedHashMap<>();
      extra.put("kind", KIND);
      extra.put("round_id", roundId);
      extra.put("base_version", String.valueOf(baseVersion));
      extra.put("reference_version", String.valueOf(baseVersion));
      extra.put("comparison_ranges", RoundRanges.encode(ranges));
      return extra;
    }

    static ResumeState of(Map<String, String> extra) {
      String roundId = extra.get("round_id");
      String base = extra.get("base_version");
      if (!KIND.equals(extra.get("kind")) || roundId == null || base == null) {
        throw new IllegalArgumentException("not the checkpoint of a DPO round: " + extra);
      }
      return new ResumeState(
          roundId, Long.parseLong(base), RoundRanges.decode(extra.get("comparison_ranges")));
    }
  }

  private final PolicyTrainerConfig config;
  private final DpoConfig dpoConfig;
  private final PpoConfig ppoConfig;
  private final NDManager manager;
  private final VersionLedger<PolicyVersion> policies;
  private final MetricsPublisher metrics;
  private final ComparisonBuffer comparisons;
  private final InputFeed feed;
  private final PolicyTrainerStatus status;
  private final RoundScheduler scheduler;
  private final PolicyPublisher output;
  private final BooleanSupplier stop;

  /**
   * @param ppoConfig the evaluation's settings ({@code eval-prompts}, {@code
   *     eval-samples-per-prompt}, {@code max-new-tokens}, {@code max-eval-kl}, {@code seed})
   */
  DpoRound(
      PolicyTrainerConfig config,
      DpoConfig dpoConfig,
      PpoConfig ppoConfig,
      NDManager manager,
      VersionLedger<PolicyVersion> policies,
      MetricsPublisher metrics,
      ComparisonBuffer comparisons,
      InputFeed feed,
      PolicyTrainerStatus status,
      RoundScheduler scheduler,
      PolicyPublisher output,
      BooleanSupplier stop) {
    this.config = config;
    this.dpoConfig = dpoConfig;
    this.ppoConfig = ppoConfig;
    this.manager = manager;
    this.policies = policies;
    this.metrics = metrics;
    this.comparisons = comparisons;
    this.feed = feed;
    this.status = status;
    this.scheduler = scheduler;
    this.output = output;
    this.stop = stop;
  }

  /** Whether a checkpointed DPO round can go on: its state readable, its base policy known. */
  boolean resumable(Checkpoints.Checkpoint c) {
    try {
      ResumeState state = ResumeState.of(c.state().extra());
      if (policies.get(state.baseVersion()).isPresent()) {
        return true;
      }
      LOG.warn("DPO checkpoint {}: base policy v{} gone", c.directory(), state.baseVersion());
    } catch (IllegalArgumentException e) {
      LOG.warn("DPO checkpoint {} unreadable: {}", c.directory(), e.getMessage());
    }
    return false;
  }

  /**
   * Trains, evaluates, gates and publishes one DPO version; {@code resume} continues a checkpointed
   * round.
   */
  void run(Checkpoints.Checkpoint resume) throws IOException, VersionPublisher.PublishException {
    status.phase(PolicyTrainerStatus.Phase.DPO);
    ResumeState state;
    long target;
    int fromStep;
    if (resume == null) {
      PolicyVersion base = scheduler.basePolicy().orElseThrow();
      Map<Integer, long[]> ranges = new TreeMap<>();
      Map<Integer, Long> first = comparisons.firstOffsets();
      feed.comparisonPositions()
          .forEach((p, until) -> ranges.put(p, new long[] {first.getOrDefault(p, until), until}));
      state = new ResumeState(UUID.randomUUID().toString(), base.getVersion(), ranges);
      target = policies.nextVersion();
      fromStep = 0;
    } else {
      state = ResumeState.of(resume.state().extra());
      target = Math.max(resume.state().round(), policies.nextVersion());
      fromStep = (int) resume.state().step();
    }
    PolicyVersion base = policies.get(state.baseVersion()).orElseThrow();
    List<ComparisonBuffer.StoredGroup> train = inRange(comparisons.train(), state.ranges());
    List<ComparisonBuffer.StoredGroup> eval = inRange(comparisons.eval(), state.ranges());
    if (train.isEmpty()) {
      // only a resumed round: its groups fell out of the bounded buffer after the restart
      LOG.warn("DPO round {}: none of its train groups is held any more; dropping it", target);
      output.clearCheckpoint();
      status.phase(PolicyTrainerStatus.Phase.IDLE);
      return;
    }
    List<AutoCloseable> owned = new ArrayList<>();
    try {
      String what = "policy v" + base.getVersion();
      PolicyModel reference =
          RoundRanges.own(
                  owned, output.loadOrFail(what, base.getArtifactUri(), base.getArtifactSha256()))
              .policy();
      reference.setTrainable(false);
      PolicyModel policy =
          resume != null
              ? RoundRanges.own(owned, ModelArtifacts.load(resume.file("policy"), null, manager))
                  .policy()
              : RoundRanges.own(
                      owned,
                      output.loadOrFail(what, base.getArtifactUri(), base.getArtifactSha256()))
                  .policy();
      OfflineDpoTrainer trainer = new OfflineDpoTrainer(dpoConfig);
      List<OfflineDpoTrainer.RankedGroup> groups =
          train.stream().map(ComparisonBuffer.StoredGroup::ranked).toList();
      int total = trainer.totalSteps(groups.size());
      LOG.info(
          "DPO round for version {}: policy v{} (also the reference), {} train groups, {} held-out, "
              + "steps {}..{}",
          target,
          base.getVersion(),
          groups.size(),
          eval.size(),
          fromStep + 1,
          total);
      status.round(target, fromStep);
      OfflineDpoTrainer.Result result =
          train(trainer, policy, reference, groups, state, target, fromStep);

      status.phase(PolicyTrainerStatus.Phase.EVALUATING);
      OfflineDpoTrainer.Evaluation heldOut =
          trainer.evaluate(
              policy, reference, eval.stream().map(ComparisonBuffer.StoredGroup::ranked).toList());
      List<int[]> prompts = heldOutPrompts(eval, policy.config().contextLength());
      double kl =
          PolicyEvaluator.heldOutKl(
              policy,
              reference,
              prompts,
              ppoConfig.getEvalSamplesPerPrompt(),
              ppoConfig.getMaxNewTokens(),
              RoundRanges.mix(ppoConfig.getSeed(), 0, -1));
      PromotionGate.Verdict verdict =
          PromotionGate.judgeDpo(
              kl, heldOut.accuracy(), ppoConfig.getMaxEvalKl(), config.isAutoPromote());
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("eval_preference_accuracy", heldOut.accuracy());
      m.put("eval_preference_accuracy_base", PromotionGate.DPO_BASE_ACCURACY);
      m.put("eval_loss", heldOut.loss());
      m.put("eval_margin", heldOut.margin());
      m.put("eval_kl", kl);
      m.put("eval_groups", (double) heldOut.groups());
      m.put("eval_pairs", (double) heldOut.pairs());
      m.put("eval_prompts", (double) prompts.size());
      m.put("eval_samples", (double) prompts.size() * ppoConfig.getEvalSamplesPerPrompt());
      m.put("loss", result.loss());
      m.put("margin", result.margin());
      m.put("accuracy", result.accuracy());
      m.put("groups", (double) result.groups());
      m.put("pairs", (double) result.pairs());
      m.put("steps", (double) result.steps());
      m.put("skipped_steps", (double) result.skippedSteps());
      m.put("gate_kl_exceeded", verdict.klExceeded() ? 1.0 : 0.0);
      m.put("gate_accuracy_not_above_base", verdict.qualityFell() ? 1.0 : 0.0);
      m.values().removeIf(v -> v == null || !Double.isFinite(v));
      LOG.info(
          "DPO version {} evaluation on {} held-out groups: {} -> {} ({})",
          target,
          heldOut.groups(),
          m,
          verdict.status(),
          verdict.reason());
      metrics.publish("eval", target, target, result.steps(), m);

      status.phase(PolicyTrainerStatus.Phase.PUBLISHING);
      ModelStatus st = verdict.status();
      output.publish(
          PolicyStage.PPO,
          st,
          List.of(base.getVersion()),
          null,
          policy,
          m,
          hyperparameters(state, policy),
          lineage(state),
          state.roundId());
      status.dpoRoundDone();
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

  /** The training steps, with progress, metrics and checkpoints; a stop checkpoints first. */
  private OfflineDpoTrainer.Result train(
      OfflineDpoTrainer trainer,
      PolicyModel policy,
      PolicyModel reference,
      List<OfflineDpoTrainer.RankedGroup> groups,
      ResumeState state,
      long target,
      int fromStep) {
    TrainingProgress progress =
        TrainingProgress.start(
            LOG, KIND, target, 0, trainer.totalSteps(groups.size()), Duration.ofSeconds(10));
    try {
      return trainer.train(
          policy,
          reference,
          groups,
          fromStep,
          new OfflineDpoTrainer.Listener() {
            @Override
            public void onStep(
                int step, int totalSteps, double loss, double margin, double accuracy) {
              progress.step(step, loss, Map.of("margin", margin, "accuracy", accuracy));
              status.round(target, step);
              status.dpoStep();
              Map<String, Double> figures =
                  Map.of("dpo_loss", loss, "dpo_margin", margin, "dpo_accuracy", accuracy);
              status.figures(figures);
              if (step % dpoConfig.getLogEvery() == 0 || step == totalSteps) {
                metrics.publish(
                    KIND,
                    target,
                    target,
                    step,
                    Map.of("loss", loss, "margin", margin, "accuracy", accuracy));
              }
              if (step % dpoConfig.getCheckpointEvery() == 0 && step < totalSteps) {
                output.checkpoint(KIND, target, step, state.toExtra(), policy, null);
              }
              feed.poll(Duration.ZERO);
            }

            @Override
            public boolean stopRequested() {
              return stop.getAsBoolean();
            }
          });
    } catch (OfflineDpoTrainer.Stopped s) {
      if (s.step() > fromStep) {
        output.checkpoint(KIND, target, s.step(), state.toExtra(), policy, null);
      }
      throw new StopSignal();
    }
  }

  private static List<ComparisonBuffer.StoredGroup> inRange(
      List<ComparisonBuffer.StoredGroup> groups, Map<Integer, long[]> ranges) {
    return groups.stream()
        .filter(g -> RoundRanges.contains(ranges, g.partition(), g.offset()))
        .toList();
  }

  /**
   * The distinct prompts of the held-out groups, ordered by prompt key (the same ones round after
   * round while the groups do not change), at most {@code ppo.eval-prompts}, fitted to the context.
   */
  private List<int[]> heldOutPrompts(List<ComparisonBuffer.StoredGroup> eval, int contextLength) {
    Map<String, ComparisonBuffer.StoredGroup> distinct = new TreeMap<>();
    eval.forEach(g -> distinct.putIfAbsent(g.promptKey(), g));
    return distinct.values().stream()
        .sorted(Comparator.comparing(ComparisonBuffer.StoredGroup::promptKey))
        .limit(ppoConfig.getEvalPrompts())
        .map(
            g ->
                ScoredRollout.fitPrompt(
                    g.promptTokens(), contextLength, ppoConfig.getMaxNewTokens()))
        .toList();
  }

  private Map<String, String> hyperparameters(ResumeState state, PolicyModel policy) {
    Map<String, String> hp = new LinkedHashMap<>();
    hp.put("ppo.algorithm", ALGORITHM);
    hp.putAll(dpoConfig.toMap());
    Map<String, String> ppo = ppoConfig.toMap();
    for (String key :
        List.of(
            "ppo.eval-prompts",
            "ppo.eval-samples-per-prompt",
            "ppo.max-new-tokens",
            "ppo.max-eval-kl",
            "ppo.seed")) {
      hp.put(key, ppo.get(key));
    }
    hp.putAll(config.toMap());
    hp.put("round_id", state.roundId());
    hp.put("reference_version", String.valueOf(state.baseVersion()));
    hp.put("base_version", String.valueOf(state.baseVersion()));
    hp.put("model", policy.config().toJson().replaceAll("\\s+", ""));
    return hp;
  }

  /** The {@code training.comparisons} offsets the round read its groups from. */
  private List<OffsetRange> lineage(ResumeState state) {
    OffsetRanges data = new OffsetRanges(config.getComparisonsTopic());
    state.ranges().forEach((p, r) -> data.cover(p, r[0], r[1]));
    return data.toList();
  }
}
