package dev.flywheel.reward;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.Devices;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.schemas.serde.AvroDeserializer;
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
import java.util.Map;
import java.util.Optional;
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
 * {@link RewardRound}: from the round's input to a published version.
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
  private NDManager manager;
  private RewardRound rewardRound;

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
    RewardRoundCheckpoints checkpoints =
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
    GroupEncoder encoder = new GroupEncoder(shape.contextLength());
    RewardArtifacts artifacts = new RewardArtifacts(config, kafka, store, manager);
    AvroDeserializer<ComparisonGroup> groupDeserializer =
        kafka.valueDeserializer(ComparisonGroup.class);
    consumer =
        new KafkaConsumer<>(
            kafka.consumerConfig(SOURCE + "-input", config.getGroupId()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    input =
        new RewardInputLog(
            config,
            consumer,
            new ComparisonGroupReader(
                config,
                stats,
                consumer,
                groupDeserializer,
                encoder,
                deadLetterSends,
                () -> running),
            rejectedInput);
    rewardRound =
        new RewardRound(
            config,
            stats,
            () -> ledger,
            input,
            sideInputs,
            encoder,
            artifacts,
            manager,
            checkpoints,
            metrics,
            publisher,
            deadLetterSends,
            this::checkRunning,
            this::updateGauges);
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

  /** Re-reads the ledger, then runs a {@link RewardRound} on the input up to {@code until}. */
  private void round(Map<TopicPartition, Long> until, Checkpoints.Checkpoint resumeFrom)
      throws IOException {
    refreshLedger();
    rewardRound.run(until, resumeFrom);
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
