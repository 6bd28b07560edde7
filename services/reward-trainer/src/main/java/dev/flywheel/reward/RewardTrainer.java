package dev.flywheel.reward;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.Devices;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.RewardModel;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.trainerkit.AcknowledgedSends;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.OffsetRanges;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reward trainer's loop (plain Java; {@link RewardTrainerService} runs it on its own thread).
 *
 * <h2>State and restarts</h2>
 *
 * Nothing lives outside Kafka and two local directories (artifacts, checkpoints):
 *
 * <ul>
 *   <li>Input already inside a published version = offsets committed for {@code group-id}; they are
 *       committed in the same Kafka transaction as the version event ({@link VersionPublisher}), so
 *       a crash leaves either both or neither.
 *   <li>On start the trainer reads {@code training.comparisons} up to the committed offsets to
 *       rebuild the replay buffer and the eval set (bounded, deterministic: {@link BoundedGroups}),
 *       starting at the earliest offsets the last checkpoint says they still hold (or at the
 *       beginning without one). Everything after the committed offsets is new input for the next
 *       round.
 *   <li>Mid-round checkpoints hold the model, the step reached and the round's input end offsets.
 *       If the last checkpoint belongs to the round the committed offsets and the ledger say is
 *       next, the trainer re-reads exactly that input and continues from the checkpoint's step
 *       (Adam moments restart; the learning rate continues to decay from where it was to the same
 *       final value).
 *   <li>The version number is {@link VersionLedger#nextVersion()}: the number of an aborted attempt
 *       was never visible, so it is reused; a number ever published never is.
 * </ul>
 *
 * <h2>A round</h2>
 *
 * new train-split groups read since the last round (minus stale ones) + a seeded replay sample of
 * the buffer, shuffled, {@code epochs} passes, batches of {@code batch-size-groups} groups,
 * InstructGPT pairwise loss ({@link PairwiseRewardLoss}), AdamW with warm-up + decay; warm-started
 * from the latest LIVE version. Then: held-out evaluation, reward offset from reference responses,
 * gate, artifact, version events ({@code CANDIDATE} then {@code LIVE}, or {@code REJECTED}) and
 * input offsets in one transaction.
 */
public final class RewardTrainer implements Runnable {

  private static final Logger LOG = LoggerFactory.getLogger(RewardTrainer.class);
  public static final String SOURCE = "reward-trainer";

  private final RewardTrainerConfig config;
  private final KafkaSettings kafka;
  private final RewardTrainerStats stats;
  private volatile boolean running = true;

  // resources, created in startUp()
  private VersionPublisher<RewardModelVersion> publisher;
  private VersionLedger<RewardModelVersion> ledger;
  private MetricsPublisher metrics;
  private KafkaProducer<String, DeadLetter> deadLetters;
  private AcknowledgedSends<String, DeadLetter> deadLetterSends;
  private KafkaConsumer<byte[], byte[]> consumer;
  private RewardInputLog input;
  private RewardSideInputs sideInputs;
  private LocalArtifactStore store;
  private RewardRoundCheckpoints checkpoints;
  private NDManager manager;
  private GroupEncoder encoder;
  private RewardEvaluator evaluator;
  private RoundTraining training;
  private RewardArtifacts artifacts;
  private RewardVersionCommit versionCommit;

  private Checkpoints.Checkpoint resume;

  public RewardTrainer(RewardTrainerConfig config, KafkaSettings kafka) {
    this(config, kafka, new RewardTrainerStats());
  }

  /**
   * A trainer reporting into {@code stats} (shared across restarts by {@link
   * RewardTrainerService}).
   */
  public RewardTrainer(RewardTrainerConfig config, KafkaSettings kafka, RewardTrainerStats stats) {
    config.validate();
    this.config = config;
    this.kafka = kafka;
    this.stats = stats;
  }

  public RewardTrainerStats stats() {
    return stats;
  }

  /**
   * Asks the loop to stop after the current poll or optimizer step (no interrupt: Kafka clients
   * must close cleanly); the round in progress is abandoned and resumes from its last checkpoint on
   * the next start.
   */
  public void stop() {
    running = false;
  }

  /** Thrown inside a round when {@link #stop()} was called. */
  private static final class Stopped extends RuntimeException {
    Stopped() {
      super("stopped", null, false, false);
    }
  }

  @Override
  public void run() {
    try {
      startUp();
      loop();
      stats.state.set(RewardTrainerStats.State.STOPPED);
    } catch (Stopped e) {
      stats.state.set(RewardTrainerStats.State.STOPPED);
    } catch (Throwable t) {
      if (!running) {
        stats.state.set(RewardTrainerStats.State.STOPPED);
        LOG.info("reward trainer stopped ({})", t.toString());
      } else {
        stats.lastError.set(t.toString());
        for (Throwable c = t; c != null; c = c.getCause()) {
          if (c instanceof VersionPublisher.PublishException p && p.isFatal()) {
            stats.fenced = true;
          }
        }
        stats.state.set(RewardTrainerStats.State.FAILED);
        LOG.error(
            "reward trainer failed{}",
            stats.fenced ? " (fenced: another instance took over)" : "",
            t);
      }
    } finally {
      closeQuietly();
    }
  }

  // ----------------------------------------------------------------------------------------
  // start-up

  private void startUp() throws Exception {
    stats.state.set(RewardTrainerStats.State.STARTING);
    Duration timeout = config.getKafkaTimeout();
    store = new LocalArtifactStore(Path.of(config.getArtifactRoot()));
    checkpoints =
        new RewardRoundCheckpoints(
            new Checkpoints(Path.of(config.getCheckpointDir()), config.getCheckpointsKept()));
    manager = Devices.newManager(config.getDevice());
    // publisher BEFORE the ledger: initTransactions() fences a zombie and aborts its open
    // transaction
    publisher =
        VersionPublisher.create(
            kafka,
            config.getVersionsTopic(),
            RewardModelVersion::getVersion,
            config.getTransactionalId(),
            timeout);
    ledger = VersionLedger.loadRewardVersions(kafka, config.getVersionsTopic(), timeout);
    ledger.latestAccepted().ifPresent(v -> stats.liveVersion = v.getVersion());
    stats.lastVersion = ledger.highestVersion();
    OffsetRanges rejectedInput = new OffsetRanges(config.getComparisonsTopic());
    for (RewardModelVersion v : ledger.versions().values()) {
      if (v.getStatus() == ModelStatus.REJECTED && RewardGate.quarantined(v.getMetrics())) {
        rejectedInput.addAll(OffsetRanges.of(config.getComparisonsTopic(), v.getTrainingData()));
      }
    }
    metrics = MetricsPublisher.create(kafka, config.getMetricsTopic(), SOURCE);
    Map<String, Object> dlConfig = kafka.producerConfig(SOURCE + "-dead-letters");
    AvroSerializer<DeadLetter> dlValues = new AvroSerializer<>();
    dlValues.configure(dlConfig, false);
    deadLetters = new KafkaProducer<>(dlConfig, new StringSerializer(), dlValues);
    deadLetterSends = new AcknowledgedSends<>(deadLetters);
    sideInputs = new RewardSideInputs(config, kafka, timeout);

    GptConfig shape = modelShape();
    encoder = new GroupEncoder(shape.contextLength());
    evaluator =
        new RewardEvaluator(
            Math.max(1, config.getBatchSizeGroups()), config.getCalibrationBuckets());
    training = new RoundTraining(config, stats, metrics, evaluator, this::checkRunning);
    artifacts = new RewardArtifacts(config, kafka, store, manager);
    versionCommit =
        new RewardVersionCommit(
            config, artifacts, publisher, () -> ledger, deadLetterSends, this::checkRunning);
    AvroDeserializer<ComparisonGroup> groupDeserializer = new AvroDeserializer<>();
    groupDeserializer.configure(
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            kafka.registryUrl(),
            AvroSerdeConfig.SPECIFIC_TYPE,
            ComparisonGroup.class),
        false);
    consumer =
        new KafkaConsumer<>(
            kafka.consumerConfig(SOURCE + "-input", config.getGroupId()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    input =
        new RewardInputLog(
            config,
            stats,
            consumer,
            groupDeserializer,
            encoder,
            deadLetterSends,
            rejectedInput,
            () -> running);
    Optional<Checkpoints.Checkpoint> checkpoint = checkpoints.latest();
    Map<TopicPartition, Long> from = input.open(checkpoint, timeout);
    resume =
        checkpoint
            .filter(
                c ->
                    RewardRoundCheckpoints.resumable(
                        c,
                        ledger.nextVersion(),
                        ledger.latestAccepted().map(RewardModelVersion::getVersion),
                        input.committed(),
                        input.partitions()))
            .orElse(null);
    LOG.info(
        "Starting: committed input offsets {}, rebuilding buffer from {}, next version {}, live version {}{}",
        render(input.committed()),
        render(from),
        ledger.nextVersion(),
        stats.liveVersion,
        resume == null
            ? ""
            : ", resuming round " + resume.state().round() + " at step " + resume.state().step());
    input.rebuild(timeout, this::checkRunning);
    LOG.info(
        "Rebuilt {} buffered and {} eval groups; {} new groups waiting",
        input.bufferedCount(),
        input.evalCount(),
        input.pendingCount());
    sideInputs.catchUp();
    updateGauges();
    stats.state.set(RewardTrainerStats.State.WAITING);
  }

  /**
   * The shape of the model the trainer will train: the accepted version's, or the configured fresh
   * one.
   */
  private GptConfig modelShape() {
    Optional<RewardModelVersion> live = ledger.latestAccepted();
    if (live.isPresent()) {
      try {
        Path dir = store.resolve(URI.create(live.get().getArtifactUri()));
        return GptConfig.fromJson(Files.readString(dir.resolve(ModelArtifacts.CONFIG)));
      } catch (IOException | RuntimeException e) {
        LOG.error(
            "the accepted version v{}'s artifact {} is unreadable ({}); encoding for the configured fresh model",
            live.get().getVersion(),
            live.get().getArtifactUri(),
            e.toString());
      }
    }
    return config.freshModelConfig();
  }

  // ---------------------------------------------------------------------------------------- the
  // loop

  private void loop() throws Exception {
    while (running) {
      input.poll();
      updateGauges();
      if (resume != null) {
        Map<TopicPartition, Long> until = RewardRoundCheckpoints.until(resume, input.partitions());
        if (input.reached(until)) {
          Checkpoints.Checkpoint r = resume;
          resume = null;
          round(until, r);
        }
      } else if (input.roundDue()) {
        round(input.positions(), null);
      }
    }
  }

  private void checkRunning() {
    if (!running) {
      throw new Stopped();
    }
  }

  // ---------------------------------------------------------------------------------------- a
  // round

  private void round(Map<TopicPartition, Long> until, Checkpoints.Checkpoint resumeFrom)
      throws Exception {
    refreshLedger();
    long version = ledger.nextVersion();
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
    boolean fresh = ledger.latestAccepted().isEmpty();
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
      updateGauges();
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
    Optional<RewardModelVersion> acceptedVersion = ledger.latestAccepted();
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

  /**
   * Re-reads the versions topic so that status changes written by others (an operator's
   * ROLLED_BACK) are respected by the next warm start. Only this trainer adds versions, so the
   * numbering cannot move.
   */
  private void refreshLedger() {
    try {
      ledger =
          VersionLedger.loadRewardVersions(
              kafka, config.getVersionsTopic(), config.getKafkaTimeout());
      stats.liveVersion = ledger.latestAccepted().map(RewardModelVersion::getVersion).orElse(-1L);
    } catch (Exception e) {
      LOG.warn(
          "could not re-read {} ({}); keeping the ledger as it was",
          config.getVersionsTopic(),
          e.toString());
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

  private void updateGauges() {
    stats.groupsBuffered = input == null ? 0 : input.bufferedCount();
    stats.evalGroups = input == null ? 0 : input.evalCount();
    stats.groupsPending = input == null ? 0 : input.pendingCount();
  }

  private static String render(Map<TopicPartition, Long> offsets) {
    Map<Integer, Long> sorted = new TreeMap<>();
    offsets.forEach((tp, o) -> sorted.put(tp.partition(), o));
    return sorted.toString();
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }

  private void closeQuietly() {
    for (AutoCloseable c : new AutoCloseable[] {consumer, sideInputs, publisher, metrics}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        LOG.debug("close: {}", e.toString());
      }
    }
    if (deadLetters != null) {
      deadLetters.close(Duration.ofSeconds(5));
    }
    if (manager != null) {
      manager.close();
    }
  }
}
