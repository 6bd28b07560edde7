package dev.flywheel.reward;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.RewardModel;
import dev.flywheel.trainerkit.AcknowledgedSends;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.OffsetRanges;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Supplier;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One round of the reward trainer, from the round's input to its published version ({@link
 * RewardTrainer} runs the service around it: start-up, the loop that decides when a round is due,
 * the ledger, shutdown).
 *
 * <p>New train-split groups read since the last round (minus stale ones) + a seeded replay sample
 * of the buffer, shuffled, {@code epochs} passes, batches of {@code batch-size-groups} groups,
 * InstructGPT pairwise loss ({@link PairwiseRewardLoss}), AdamW with warm-up + decay; warm-started
 * from the latest LIVE version. Then: held-out evaluation, reward offset from reference responses,
 * gate, artifact, version events ({@code CANDIDATE} then {@code LIVE}, or {@code REJECTED}) and
 * input offsets in one transaction.
 */
final class RewardRound {

  private static final Logger LOG = LoggerFactory.getLogger(RewardRound.class);

  private final RewardTrainerConfig config;
  private final RewardTrainerStats stats;
  private final Supplier<VersionLedger<RewardModelVersion>> ledger;
  private final RewardInputLog input;
  private final RewardSideInputs sideInputs;
  private final GroupEncoder encoder;
  private final RewardEvaluator evaluator;
  private final RoundTraining training;
  private final RewardArtifacts artifacts;
  private final NDManager manager;
  private final RewardRoundCheckpoints checkpoints;
  private final MetricsPublisher metrics;
  private final RewardVersionCommit versionCommit;
  private final Runnable updateGauges;

  /**
   * @param ledger the trainer's current ledger (a supplier: the trainer re-reads it before every
   *     round)
   * @param manager where a mid-round checkpoint's model is loaded
   * @param deadLetterSends the dead letters of the round, awaited before its offsets commit
   * @param checkRunning throws when the trainer was asked to stop (checked before every step and
   *     before publishing)
   * @param updateGauges the trainer's input gauges, updated when a round ends
   */
  RewardRound(
      RewardTrainerConfig config,
      RewardTrainerStats stats,
      Supplier<VersionLedger<RewardModelVersion>> ledger,
      RewardInputLog input,
      RewardSideInputs sideInputs,
      GroupEncoder encoder,
      RewardArtifacts artifacts,
      NDManager manager,
      RewardRoundCheckpoints checkpoints,
      MetricsPublisher metrics,
      VersionPublisher<RewardModelVersion> publisher,
      AcknowledgedSends<String, DeadLetter> deadLetterSends,
      Runnable checkRunning,
      Runnable updateGauges) {
    this.config = config;
    this.stats = stats;
    this.ledger = ledger;
    this.input = input;
    this.sideInputs = sideInputs;
    this.encoder = encoder;
    this.evaluator =
        new RewardEvaluator(
            Math.max(1, config.getBatchSizeGroups()), config.getCalibrationBuckets());
    this.training = new RoundTraining(config, stats, metrics, evaluator, checkRunning);
    this.artifacts = artifacts;
    this.manager = manager;
    this.checkpoints = checkpoints;
    this.metrics = metrics;
    this.versionCommit =
        new RewardVersionCommit(
            config, artifacts, publisher, ledger, deadLetterSends, checkRunning);
    this.updateGauges = updateGauges;
  }

  /**
   * Trains, evaluates and publishes the next version on the input read up to {@code until}; {@code
   * resumeFrom} (null for a new round) is a mid-round checkpoint of this round to continue from
   * when it was made for the same round data.
   */
  void run(Map<TopicPartition, Long> until, Checkpoints.Checkpoint resumeFrom) throws IOException {
    long version = ledger.get().nextVersion();
    long round = version;
    stats.currentRound = round;
    stats.state.set(RewardTrainerStats.State.TRAINING);
    long roundStart = System.nanoTime();

    // the round's input: everything read before the cut
    RewardInputLog.RoundInput roundInput = input.take(until);
    List<EncodedGroup> newTrain = roundInput.newTrain();
    List<EncodedGroup> eval = input.evalGroups();
    Random random = new Random(config.getSeed() * 1_000_003L + round);
    // a fresh model (no accepted version yet) has no parent carrying what earlier rounds saw: it
    // replays the whole buffer, so a first version rejected for want of evidence is followed by one
    // trained on more data, not on the same amount
    boolean fresh = ledger.get().latestAccepted().isEmpty();
    List<EncodedGroup> replay =
        fresh && config.getReplayFraction() > 0
            ? input.replayAll()
            : input.replaySample(newTrain.size(), random);
    List<EncodedGroup> data = new ArrayList<>(newTrain);
    data.addAll(replay);
    RoundPlan plan = RoundPlan.of(data, round, config, random);
    int totalSteps = plan.totalSteps();
    String planHash = plan.hash();
    sideInputs.catchUp();
    Double agreementCeiling = sideInputs.agreementCeiling();
    RoundParent roundParent = loadParent(round);
    Optional<RewardModelVersion> parent = roundParent.version();
    LoadedModel parentModel = roundParent.model();
    LOG.info(
        "Round {} (version {}): {} new groups ({} stale dropped), {} replayed, {} held back for validation, "
            + "{} eval groups, at most {} epochs, {} steps; parent {}",
        round,
        version,
        newTrain.size(),
        roundInput.staleDropped().size(),
        replay.size(),
        plan.validation().size(),
        eval.size(),
        plan.epochs(),
        totalSteps,
        parent.map(p -> "v" + p.getVersion()).orElse("none (fresh model)"));

    RewardEvaluator.Result baseline = null;
    RewardEvaluator.Result parentOnNew = null;
    RewardModel model = null;
    EarlyStopping early = new EarlyStopping(config.getEarlyStoppingPatience());
    try {
      if (parentModel != null) {
        baseline = evaluator.evaluate(parentModel.reward(), eval);
        LOG.info(
            "Round {}: parent v{} on the current eval set: accuracy {} loss {}",
            round,
            parent.get().getVersion(),
            fmt(baseline.accuracy()),
            fmt(baseline.loss()));
        if (!newTrain.isEmpty()) {
          // how well the reward model in use ranks the newest rankings — of the policy's latest
          // samples — before it learns them: it falls as RL moves the policy away from its data
          parentOnNew = evaluator.evaluate(parentModel.reward(), newTrain);
          LOG.info(
              "Round {}: parent v{} on the round's {} new groups: accuracy {}",
              round,
              parent.get().getVersion(),
              newTrain.size(),
              fmt(parentOnNew.accuracy()));
        }
      }
      int startStep = 0;
      if (resumeFrom != null && RewardRoundCheckpoints.samePlan(resumeFrom, planHash)) {
        LoadedModel fromCheckpoint =
            ModelArtifacts.load(RewardRoundCheckpoints.model(resumeFrom), null, manager);
        model = fromCheckpoint.reward();
        startStep = (int) resumeFrom.state().step();
        early.resume(resumeFrom.state().extra(), resumeFrom.directory(), model);
        if (parentModel != null) {
          parentModel.close();
          parentModel = null;
        }
        LOG.info(
            "Round {}: resuming at step {} of {} from {}",
            round,
            startStep,
            totalSteps,
            resumeFrom.directory());
      } else if (resumeFrom != null) {
        LOG.warn(
            "Round {}: checkpoint {} was made for different round data; starting the round over",
            round,
            resumeFrom.directory());
      }
      if (model == null) {
        if (parentModel != null) {
          model = parentModel.reward();
          parentModel = null; // trained in place: owned as `model` from here
        } else {
          model = artifacts.initialModel();
        }
      }
      Map<String, String> checkpointExtra =
          RewardRoundCheckpoints.trainingExtra(
              parent.map(RewardModelVersion::getVersion), planHash, until, input.historyFrom());

      // a warm start's parent is a candidate for "best epoch"; a fresh head is not worth publishing
      RoundTraining.Result train =
          training.train(
              model,
              plan,
              startStep,
              round,
              version,
              eval,
              early,
              parent.isPresent(),
              (m, step, e) -> checkpoint(m, round, step, version, checkpointExtra, e));
      stats.state.set(RewardTrainerStats.State.PUBLISHING);

      // evaluation, reference offset, ceiling, gate
      RewardEvaluator.Result result = evaluator.evaluate(model, eval);
      RewardSideInputs.References references = sideInputs.references(eval, encoder);
      double rewardOffset =
          evaluator.meanScore(
              model, references.sequences(), Math.max(8, config.getBatchSizeGroups() * 4));
      RewardGate.Decision gate = RewardGate.of(config).decide(result, baseline);
      boolean accepted = gate.accepted();

      RewardVersionMetrics.Inputs figures =
          new RewardVersionMetrics.Inputs(
              result,
              train,
              plan,
              early.bestLoss(),
              early.bestEpoch(),
              roundInput,
              replay.size(),
              startStep,
              rewardOffset,
              references,
              gate,
              baseline,
              parentOnNew,
              agreementCeiling,
              roundParent.unusable() == null ? null : roundParent.unusable().getVersion(),
              (System.nanoTime() - roundStart) / 1e9);
      Map<String, Double> versionMetrics = RewardVersionMetrics.of(figures);
      metrics.publish("eval", version, round, totalSteps, RewardVersionMetrics.evalEvent(figures));

      // artifact, then the version events and the input offsets in one transaction
      OffsetRanges lineage = input.lineage(until);
      versionCommit.commit(
          version, parent, model, rewardOffset, versionMetrics, accepted, until, lineage);

      // the round's input is now history
      input.committedRound(until, roundInput, !gate.quarantine(), lineage);
      stats.rounds.incrementAndGet();
      stats.groupsTrained.addAndGet(plan.train().size() * (long) train.epochsRun());
      stats.lastVersion = version;
      stats.lastEvalAccuracy = result.accuracy();
      stats.lastGroupsPerSecond = train.groupsPerSecond();
      if (accepted) {
        stats.versionsAccepted.incrementAndGet();
        stats.liveVersion = version;
      } else {
        stats.versionsRejected.incrementAndGet();
      }
      checkpoints.savePublished(round, totalSteps, version, input.committed(), input.historyFrom());
      LOG.info(
          "Version {} {}: eval accuracy {} [{}, {}] (parent {}; gate {} {} >= {}, ceiling {}), eval loss {}, "
              + "reward offset {}, {} groups/s, lineage {}",
          version,
          accepted ? "LIVE" : "REJECTED",
          fmt(result.accuracy()),
          fmt(result.accuracyLow()),
          fmt(result.accuracyHigh()),
          baseline == null ? "none" : fmt(baseline.accuracy()),
          baseline == null ? "accuracy bound" : "difference bound",
          fmt(gate.statistic()),
          fmt(gate.threshold()),
          agreementCeiling == null ? "unknown" : fmt(agreementCeiling),
          fmt(result.loss()),
          fmt(rewardOffset),
          fmt(train.groupsPerSecond()),
          lineage);
    } finally {
      early.close();
      if (model != null) {
        model.close();
      }
      if (parentModel != null) {
        parentModel.close();
      }
      stats.currentRound = -1;
      if (stats.state() == RewardTrainerStats.State.TRAINING
          || stats.state() == RewardTrainerStats.State.PUBLISHING) {
        stats.state.set(RewardTrainerStats.State.WAITING);
      }
      updateGauges.run();
    }
  }

  /**
   * The parent a round starts from: the accepted version and its model; or, when that version's
   * artifact cannot be loaded, no parent and the unusable version (reported in the metrics).
   */
  private record RoundParent(
      Optional<RewardModelVersion> version, LoadedModel model, RewardModelVersion unusable) {}

  /**
   * Loads the accepted version's model. A missing or corrupt parent artifact must not crash-loop
   * the trainer: the round trains from the initial model (as for a first version, gated on the
   * minimum accuracy) and says so in the version's metrics.
   */
  private RoundParent loadParent(long round) {
    Optional<RewardModelVersion> acceptedVersion = ledger.get().latestAccepted();
    if (acceptedVersion.isEmpty()) {
      return new RoundParent(Optional.empty(), null, null);
    }
    try {
      return new RoundParent(acceptedVersion, artifacts.load(acceptedVersion.get()), null);
    } catch (IOException | RuntimeException e) {
      RewardModelVersion unusableParent = acceptedVersion.get();
      stats.unusableParents.incrementAndGet();
      LOG.error(
          "Round {}: the accepted version v{}'s artifact {} cannot be loaded ({}); this round starts from the "
              + "initial model instead",
          round,
          unusableParent.getVersion(),
          unusableParent.getArtifactUri(),
          e.toString());
      return new RoundParent(Optional.empty(), null, unusableParent);
    }
  }

  private void checkpoint(
      RewardModel model,
      long round,
      int step,
      long version,
      Map<String, String> extra,
      EarlyStopping early)
      throws IOException {
    checkpoints.saveTraining(model, round, step, version, input.committed(), extra, early);
    stats.checkpoints.incrementAndGet();
    LOG.info("Round {}: checkpoint at step {}", round, step);
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }
}
