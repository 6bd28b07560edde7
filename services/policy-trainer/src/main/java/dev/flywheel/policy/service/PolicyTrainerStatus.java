package dev.flywheel.policy.service;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the training loop is doing, for {@code /health}, {@code /prometheus} and tests. Written by
 * the loop thread, read by any; every field is individually consistent (volatile / atomic).
 */
public final class PolicyTrainerStatus {

  /**
   * The loop's phase (its ordinal is the {@code flywheel_policy_trainer_phase} gauge: new phases go
   * last).
   */
  public enum Phase {
    STARTING,
    CATCHING_UP,
    IDLE,
    SFT,
    PPO,
    EVALUATING,
    PUBLISHING,
    STOPPED,
    FAILED,
    DISABLED,
    /** training a DPO round ({@code ppo.algorithm=dpo}) */
    DPO
  }

  private volatile Phase phase = Phase.STARTING;
  private volatile long round;
  private volatile long step;
  private volatile long lastPublishedVersion;
  private volatile String lastError;
  private volatile long lastProgressMillis = System.currentTimeMillis();
  private final Map<String, Double> lastFigures = new ConcurrentHashMap<>();
  private final AtomicLong sftRounds = new AtomicLong();
  private final AtomicLong ppoRounds = new AtomicLong();
  private final AtomicLong versionsPublished = new AtomicLong();
  private final AtomicLong versionsRejected = new AtomicLong();
  private final AtomicLong ppoIterations = new AtomicLong();
  private final AtomicLong dpoRounds = new AtomicLong();
  private final AtomicLong dpoSteps = new AtomicLong();
  private final AtomicLong resumes = new AtomicLong();
  private final AtomicLong deadLetters = new AtomicLong();
  private final AtomicLong duplicateDemonstrations = new AtomicLong();
  private final AtomicLong registryOutages = new AtomicLong();
  private final AtomicLong restarts = new AtomicLong();
  private volatile boolean fenced;
  private volatile long comparisonTrainGroups;
  private volatile long comparisonEvalGroups;

  public Phase phase() {
    return phase;
  }

  public void phase(Phase value) {
    phase = value;
    touch();
  }

  public void round(long value, long stepValue) {
    round = value;
    step = stepValue;
    touch();
  }

  public long round() {
    return round;
  }

  public long step() {
    return step;
  }

  public long lastPublishedVersion() {
    return lastPublishedVersion;
  }

  public String lastError() {
    return lastError;
  }

  /** Records an error the loop survived (it goes on). */
  public void error(Throwable error) {
    lastError = error.toString();
  }

  /**
   * The loop failed; {@link #fenced()} when another instance with its transactional id fenced its
   * publisher.
   */
  public void failed(Throwable error) {
    lastError = error.toString();
    for (Throwable c = error; c != null; c = c.getCause()) {
      if (c instanceof dev.flywheel.trainerkit.VersionPublisher.PublishException p && p.isFatal()) {
        fenced = true;
      }
    }
    phase = Phase.FAILED;
  }

  /** True once a publish was fenced: the supervisor does not restart the loop. */
  public boolean fenced() {
    return fenced;
  }

  /** The supervisor replaced a failed loop. */
  public void restarted() {
    restarts.incrementAndGet();
  }

  public long restarts() {
    return restarts.get();
  }

  public long lastProgressMillis() {
    return lastProgressMillis;
  }

  private void touch() {
    lastProgressMillis = System.currentTimeMillis();
  }

  /**
   * Latest figures of the last PPO iteration / SFT step / DPO step (mean_reward, kl, beta,
   * dpo_loss, ...).
   */
  public void figures(Map<String, ? extends Number> values) {
    values.forEach(
        (k, v) -> {
          if (v != null && Double.isFinite(v.doubleValue())) {
            lastFigures.put(k, v.doubleValue());
          }
        });
    touch();
  }

  public double figure(String name) {
    return lastFigures.getOrDefault(name, Double.NaN);
  }

  public Map<String, Double> figures() {
    return new LinkedHashMap<>(lastFigures);
  }

  public void published(long version, boolean rejected) {
    lastPublishedVersion = version;
    versionsPublished.incrementAndGet();
    if (rejected) {
      versionsRejected.incrementAndGet();
    }
  }

  public void sftRoundDone() {
    sftRounds.incrementAndGet();
  }

  public void ppoRoundDone() {
    ppoRounds.incrementAndGet();
  }

  public void ppoIteration() {
    ppoIterations.incrementAndGet();
  }

  public void dpoRoundDone() {
    dpoRounds.incrementAndGet();
  }

  public void dpoStep() {
    dpoSteps.incrementAndGet();
  }

  /** The comparison groups held for DPO rounds (TRAIN and EVAL split), after each poll. */
  public void comparisonGroups(long train, long eval) {
    comparisonTrainGroups = train;
    comparisonEvalGroups = eval;
  }

  public long comparisonTrainGroups() {
    return comparisonTrainGroups;
  }

  public long comparisonEvalGroups() {
    return comparisonEvalGroups;
  }

  public long dpoRounds() {
    return dpoRounds.get();
  }

  public long dpoSteps() {
    return dpoSteps.get();
  }

  public void resumed() {
    resumes.incrementAndGet();
  }

  public void deadLettered() {
    deadLetters.incrementAndGet();
  }

  /** A demonstration whose event id was already read (a retried event): skipped. */
  public void duplicateDemonstration() {
    duplicateDemonstrations.incrementAndGet();
  }

  public long duplicateDemonstrations() {
    return duplicateDemonstrations.get();
  }

  /** A poll stopped by a schema-registry outage (the records are read again). */
  public void registryOutage() {
    registryOutages.incrementAndGet();
  }

  public long registryOutages() {
    return registryOutages.get();
  }

  public long sftRounds() {
    return sftRounds.get();
  }

  public long ppoRounds() {
    return ppoRounds.get();
  }

  public long versionsPublished() {
    return versionsPublished.get();
  }

  public long versionsRejected() {
    return versionsRejected.get();
  }

  public long ppoIterations() {
    return ppoIterations.get();
  }

  public long resumes() {
    return resumes.get();
  }

  public long deadLetters() {
    return deadLetters.get();
  }
}
