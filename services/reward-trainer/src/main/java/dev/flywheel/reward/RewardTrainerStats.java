package dev.flywheel.reward;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Live figures of the trainer, read by the health indicator and the Prometheus gauges. Thread-safe.
 */
public final class RewardTrainerStats {

  /** What the trainer loop is doing. */
  public enum State {
    STARTING,
    WAITING,
    TRAINING,
    PUBLISHING,
    STOPPED,
    FAILED
  }

  final AtomicReference<State> state = new AtomicReference<>(State.STARTING);
  final AtomicReference<String> lastError = new AtomicReference<>();
  final AtomicLong rounds = new AtomicLong();
  final AtomicLong versionsAccepted = new AtomicLong();
  final AtomicLong versionsRejected = new AtomicLong();
  final AtomicLong groupsTrained = new AtomicLong();
  final AtomicLong deadLetters = new AtomicLong();
  final AtomicLong steps = new AtomicLong();
  final AtomicLong checkpoints = new AtomicLong();

  /**
   * Rounds whose accepted parent artifact could not be loaded (started from the initial model
   * instead).
   */
  final AtomicLong unusableParents = new AtomicLong();

  /** Polls stopped by a schema-registry outage (the records were read again later). */
  final AtomicLong registryOutages = new AtomicLong();

  volatile int groupsBuffered;
  volatile int groupsPending;
  volatile int evalGroups;
  volatile double lastEvalAccuracy = Double.NaN;
  volatile double lastGroupsPerSecond = Double.NaN;
  volatile long liveVersion = -1;
  volatile long lastVersion = -1;
  volatile long currentRound = -1;
  volatile boolean fenced;
  final AtomicLong restarts = new AtomicLong();

  /**
   * True once the version publisher was fenced by another instance with the same transactional id.
   */
  public boolean fenced() {
    return fenced;
  }

  /** How often the service restarted the trainer loop after a failure. */
  public long restarts() {
    return restarts.get();
  }

  public State state() {
    return state.get();
  }

  public String lastError() {
    return lastError.get();
  }

  public long rounds() {
    return rounds.get();
  }

  public long versionsAccepted() {
    return versionsAccepted.get();
  }

  public long versionsRejected() {
    return versionsRejected.get();
  }

  public long groupsTrained() {
    return groupsTrained.get();
  }

  public long deadLetters() {
    return deadLetters.get();
  }

  public long registryOutages() {
    return registryOutages.get();
  }

  public long unusableParents() {
    return unusableParents.get();
  }

  public long checkpoints() {
    return checkpoints.get();
  }

  public long steps() {
    return steps.get();
  }

  public int groupsBuffered() {
    return groupsBuffered;
  }

  public int groupsPending() {
    return groupsPending;
  }

  public int evalGroups() {
    return evalGroups;
  }

  public double lastEvalAccuracy() {
    return lastEvalAccuracy;
  }

  /**
   * Training throughput of the last round (groups, counting every epoch, per second of training).
   */
  public double lastGroupsPerSecond() {
    return lastGroupsPerSecond;
  }

  public long liveVersion() {
    return liveVersion;
  }

  public long lastVersion() {
    return lastVersion;
  }

  public long currentRound() {
    return currentRound;
  }
}
