package dev.flywheel.policy.service;

import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy trainer's service loop: the Kafka plumbing around {@link SftTrainer}, the RL
 * algorithms and offline DPO. One thread runs {@link #run()}: it opens its {@link LoopResources}
 * (the clients, ledgers, feed, scheduler, publisher and rounds) and catches up on its input, then
 * on every tick polls the input, resumes a checkpointed round or asks the {@link RoundScheduler}
 * what to do, and runs it: an {@link SftRound}, an {@link RlRound} or (with {@code
 * ppo.algorithm=dpo}, instead of RL) a {@link DpoRound}, which train (checkpointing as they go),
 * evaluate, and publish a {@link PolicyVersion} plus {@code TrainingMetrics} through the {@link
 * PolicyPublisher}.
 *
 * <h2>What starts a round</h2>
 *
 * <ol>
 *   <li><b>First SFT</b>: no SFT version exists and at least {@code min-demonstrations}
 *       demonstrations are in.
 *   <li><b>Further SFT</b> ({@code sft-retrain}): {@code sft-retrain-min-new} demonstrations
 *       arrived beyond the data of the latest SFT version; warm-started from it, trained on all
 *       demonstrations.
 *   <li><b>PPO</b> (RL: {@code ppo.algorithm} ppo, rloo, grpo, online-dpo or raft): a reward model
 *       is accepted (latest {@code LIVE} on the reward versions topic), a base policy exists (the
 *       highest policy version whose status is LIVE or CANDIDATE), there are {@code
 *       min-train-prompts} training prompts, and either no PPO version has optimised this reward
 *       model yet, or the base is an SFT version no PPO round has continued from yet, or {@code
 *       ppo-schedule} (off by default) has passed since the latest PPO version.
 *   <li><b>DPO</b> ({@code ppo.algorithm=dpo}, in place of PPO; only then is {@code
 *       training.comparisons} read): a base policy exists and {@code dpo.round-min-groups} TRAIN
 *       comparison groups arrived beyond the {@code training.comparisons} data of the latest DPO
 *       version (all of them before the first). No reward model is needed.
 *   <li><b>Continued SFT</b> ({@code sft-continue}): when none of the above is due, a round on the
 *       same demonstrations warm from the latest SFT version, unless that version was continued
 *       already (a REJECTED continuation ends the chain), stopped early, did not improve its
 *       parent's held-out loss, or brought the chain to {@code sft.epochs}: {@link
 *       dev.flywheel.policy.train.SftContinuation}.
 * </ol>
 *
 * <h2>Statuses</h2>
 *
 * SFT: {@code LIVE} when no policy version is LIVE (the first policy: serving needs one to start),
 * or (with {@code auto-promote}) when the LIVE version is an SFT version with a higher held-out
 * demonstration loss on the round's eval split; else {@code CANDIDATE}. PPO: {@code REJECTED} when
 * the held-out KL exceeds {@code ppo.max-eval-kl} or the held-out reward fell below the base
 * policy's by more than {@code ppo.reward-drop-tolerance}; otherwise {@code LIVE} with {@code
 * auto-promote} (published as CANDIDATE then LIVE in one transaction), else {@code CANDIDATE}. DPO:
 * the same, with the held-out preference accuracy on the EVAL comparison groups (which must be
 * above the base's 0.5) in place of the reward ({@link PromotionGate#judgeDpo}).
 *
 * <h2>Crash safety</h2>
 *
 * Version numbers come from the {@link VersionLedger} (highest ever seen + 1, never reused) and are
 * published through a transactional {@link VersionPublisher} (a second instance fences the first).
 * Rounds checkpoint every {@code sft-checkpoint-every} steps / {@code ppo-checkpoint-every}
 * iterations / {@code dpo.checkpoint-every} steps and on a graceful stop; a restart resumes the
 * checkpointed round (policy and value weights, step, β, score statistics, the round's data) unless
 * the ledger already holds a version carrying the round's {@code round_id} (published, then crashed
 * before the checkpoint was cleared). Optimizer moments are not checkpointed: they restart at a
 * resume.
 */
public final class PolicyTrainerLoop implements Runnable, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(PolicyTrainerLoop.class);
  public static final String SOURCE = "policy-trainer";

  /**
   * Hooks for tests and embedding: called on the loop thread; an exception thrown here ends the
   * loop.
   */
  public interface Events {
    default void checkpointed(String kind, long round, long step) {}

    default void resumed(String kind, long round, long step) {}

    default void published(PolicyVersion version) {}

    /** The scheduler found no round to run on this pass (it waits for input). */
    default void idle() {}
  }

  private final PolicyTrainerConfig config;
  private final PpoConfig ppoConfig;
  private final PolicyTrainerStatus status;
  private final Events events;
  private final LoopResources resources;
  private volatile boolean stopRequested;
  private volatile Thread thread;
  private Checkpoints.Checkpoint pendingResume;

  public PolicyTrainerLoop(
      PolicyTrainerConfig config,
      SftConfig sftConfig,
      PpoConfig ppoConfig,
      DpoConfig dpoConfig,
      KafkaSettings kafka,
      PolicyTrainerStatus status,
      Events events) {
    this(config, sftConfig, ppoConfig, dpoConfig, new RolloutConfig(), kafka, status, events);
  }

  /**
   * @param rolloutConfig where RL rounds get their rollouts ({@code rollout.source}: the trainer
   *     itself, or the rollout workers)
   */
  public PolicyTrainerLoop(
      PolicyTrainerConfig config,
      SftConfig sftConfig,
      PpoConfig ppoConfig,
      DpoConfig dpoConfig,
      RolloutConfig rolloutConfig,
      KafkaSettings kafka,
      PolicyTrainerStatus status,
      Events events) {
    RolloutConfig rollouts = validRollouts(rolloutConfig, ppoConfig);
    this.config = config;
    SftConfig sft = sftConfig.copy().validate();
    this.ppoConfig = ppoConfig.copy().validate();
    DpoConfig dpo = dpoConfig.copy().validate();
    this.status = status;
    this.events = events == null ? new Events() {} : events;
    this.resources =
        new LoopResources(
            config,
            sft,
            this.ppoConfig,
            dpo,
            rollouts,
            kafka,
            status,
            this.events,
            () -> stopRequested);
  }

  /** The rollout settings, refused when the algorithm cannot train on the workers' batches. */
  static RolloutConfig validRollouts(RolloutConfig rollouts, PpoConfig ppo) {
    rollouts.validate();
    if (rollouts.getSource() == RolloutConfig.Source.WORKERS
        && (ppo.getAlgorithm() == PpoConfig.Algorithm.ONLINE_DPO
            || ppo.getAlgorithm() == PpoConfig.Algorithm.RAFT)) {
      throw new IllegalArgumentException(
          "flywheel.policy-trainer.rollout.source: workers trains ppo, rloo or grpo; "
              + ppo.toMap().get("ppo.algorithm")
              + " samples its own");
    }
    return rollouts;
  }

  /** Starts {@link #run()} on a new thread named {@code policy-trainer-loop}. */
  public synchronized Thread start() {
    if (thread != null) {
      throw new IllegalStateException("already started");
    }
    thread = new Thread(this, "policy-trainer-loop");
    thread.start();
    return thread;
  }

  public PolicyTrainerStatus status() {
    return status;
  }

  /** The loop thread, once started. */
  public Thread thread() {
    return thread;
  }

  /**
   * Asks the loop to stop at the next step boundary (it checkpoints the round in progress first).
   */
  public void requestStop() {
    stopRequested = true;
  }

  /** Requests a stop and waits up to {@code timeout} for the loop thread to end. */
  public boolean stop(Duration timeout) throws InterruptedException {
    requestStop();
    Thread t = thread;
    if (t != null) {
      t.join(timeout.toMillis());
      return !t.isAlive();
    }
    return true;
  }

  @Override
  public void close() {
    try {
      stop(Duration.ofSeconds(60));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- the loop -----------------------------------------------------------------------------

  @Override
  public void run() {
    try {
      init();
      while (!stopRequested) {
        tick();
      }
      status.phase(PolicyTrainerStatus.Phase.STOPPED);
    } catch (StopSignal s) {
      status.phase(PolicyTrainerStatus.Phase.STOPPED);
    } catch (Throwable t) {
      LOG.error("policy trainer loop failed", t);
      status.failed(t);
    } finally {
      resources.close();
      LOG.info("policy trainer loop ended ({})", status.phase());
    }
  }

  /** A version's artifact cannot be resolved, verified or loaded. */
  static final class ArtifactUnavailable extends RuntimeException {
    ArtifactUnavailable(String what, IOException cause) {
      super("cannot load " + what + ": " + cause.getMessage(), cause);
    }
  }

  /** Opens the loop's resources, catches up on the input and finds a checkpointed round. */
  private void init() throws IOException, TimeoutException {
    status.phase(PolicyTrainerStatus.Phase.STARTING);
    resources.open();
    status.phase(PolicyTrainerStatus.Phase.CATCHING_UP);
    catchUp();
    pendingResume = checkpointToResume().orElse(null);
    status.phase(PolicyTrainerStatus.Phase.IDLE);
  }

  /** Polls the input until the feed has read up to the end offsets it started from. */
  private void catchUp() {
    InputFeed feed = resources.feed();
    while (!feed.caughtUp()) {
      checkStop();
      feed.poll(Duration.ofMillis(200));
    }
    PromptPool prompts = resources.prompts();
    LOG.info(
        "caught up: {} demonstrations, {} transcript prompts ({} train), {} configured prompts; policy versions "
            + "up to {}, latest accepted reward model {}",
        feed.demos().size(),
        prompts.transcriptPrompts().size(),
        prompts.trainCount(),
        prompts.configured().size(),
        resources.policies().highestVersion(),
        resources.rewards().latestAccepted().map(RewardModelVersion::getVersion).orElse(null));
  }

  /**
   * The latest checkpoint, unless the ledger holds a version carrying its {@code round_id}
   * (published, then crashed before the checkpoint was cleared): that one is discarded.
   */
  private Optional<Checkpoints.Checkpoint> checkpointToResume() throws IOException {
    Checkpoints checkpoints = resources.checkpoints();
    Optional<Checkpoints.Checkpoint> latest = checkpoints.latest();
    if (latest.isEmpty()) {
      return Optional.empty();
    }
    Checkpoints.Checkpoint c = latest.get();
    String roundId = c.state().extra().get("round_id");
    Optional<PolicyVersion> done =
        resources.policies().versions().values().stream()
            .filter(v -> roundId != null && roundId.equals(v.getHyperparameters().get("round_id")))
            .findFirst();
    if (done.isEmpty()) {
      return latest;
    }
    LOG.info(
        "checkpoint {} belongs to round {}, already published as version {}: discarding it",
        c.directory(),
        roundId,
        done.get().getVersion());
    checkpoints.clear();
    return Optional.empty();
  }

  private void tick() throws IOException, VersionPublisher.PublishException {
    resources.feed().poll(pendingResume != null ? Duration.ZERO : config.getPollInterval());
    // decide on everything published so far, not on one poll's worth of it
    resources.feed().drain(config.getKafkaTimeout());
    if (pendingResume != null) {
      Checkpoints.Checkpoint c = pendingResume;
      pendingResume = null;
      resume(c);
      return;
    }
    RoundScheduler scheduler = resources.scheduler();
    RoundScheduler.Decision decision = scheduler.decide();
    if (decision == RoundScheduler.Decision.WAIT) {
      events.idle();
    } else if (decision == RoundScheduler.Decision.SFT) {
      resources.sftRound().run(null, false);
    } else if (decision == RoundScheduler.Decision.SFT_CONTINUE) {
      resources.sftRound().run(null, true);
    } else if (decision == RoundScheduler.Decision.RL || decision == RoundScheduler.Decision.DPO) {
      String pair = scheduler.currentPair();
      try {
        if (decision == RoundScheduler.Decision.RL) {
          resources.rlRound().run(null);
        } else {
          resources.dpoRound().run(null);
        }
      } catch (ArtifactUnavailable e) {
        // an unreadable or corrupt artifact (checksum mismatch, missing file) would fail every
        // retry: skip this (reward model, base policy) pair — for DPO ("dpo", base policy) —
        // until either changes
        LOG.error(
            "{} round on reward model / base policy {} failed to load an artifact; skipping the pair: {}",
            decision,
            pair,
            e.toString());
        scheduler.markUnusable(pair);
        status.error(e);
        status.phase(PolicyTrainerStatus.Phase.IDLE);
      }
    }
  }

  /** Runs the checkpointed round on from its checkpoint, or discards one it cannot resume. */
  private void resume(Checkpoints.Checkpoint c)
      throws IOException, VersionPublisher.PublishException {
    String kind = c.state().extra().getOrDefault("kind", "");
    status.resumed();
    events.resumed(kind, c.state().round(), c.state().step());
    LOG.info(
        "resuming {} round {} at step {} from {}",
        kind,
        c.state().round(),
        c.state().step(),
        c.directory());
    RlRound rlRound = resources.rlRound();
    DpoRound dpoRound = resources.dpoRound();
    if (kind.equals("sft")) {
      resources.sftRound().run(c, false);
    } else if (kind.equals("ppo") && ppoConfig.getAlgorithm().isRl() && rlRound.resumable(c)) {
      rlRound.run(c);
    } else if (kind.equals(DpoRound.KIND) && dpoRound != null && dpoRound.resumable(c)) {
      dpoRound.run(c);
    } else {
      LOG.warn("cannot resume checkpoint {} (kind '{}'); discarding it", c.directory(), kind);
      resources.checkpoints().clear();
    }
  }

  private void checkStop() {
    if (stopRequested) {
      throw new StopSignal();
    }
  }
}
