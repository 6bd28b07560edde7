package dev.flywheel.trainerkit;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainers' one failure policy. A trainer runs on its own thread from start-up to shutdown;
 * when an attempt fails (broker or registry unreachable, a publish that could not commit, a bug) a
 * fresh attempt starts from Kafka's state and the latest checkpoint after a back-off that doubles
 * from {@code initialBackoff} to {@code maxBackoff} (and starts over once an attempt has run for
 * ten times the maximum). An attempt fenced by another instance with the same transactional id is
 * not restarted: the trainer stays failed (health DOWN) so that two instances do not fence each
 * other in turn. A graceful stop ends it.
 */
public final class TrainerSupervisor implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TrainerSupervisor.class);

  /** How an attempt ended. */
  public enum Ending {
    /** asked to stop */
    STOPPED,
    /** failed: restarted after the back-off */
    FAILED,
    /** fenced by another instance: not restarted */
    FENCED
  }

  /** One attempt of a trainer: {@link #run} blocks until it ends and says how. */
  public interface Attempt {
    Ending run();

    /** Asks the running attempt to stop at its next safe point (it checkpoints first). */
    void stop();
  }

  private final String name;
  private final Supplier<Attempt> attempts;
  private final long initialBackoffMs;
  private final long maxBackoffMs;
  private final Thread thread;
  private final AtomicLong restarts = new AtomicLong();
  private volatile boolean stopping;
  private volatile Attempt current;
  private volatile Ending lastEnding;

  /**
   * @param name the thread's name
   * @param attempts makes a fresh attempt (a trainer is not restartable in place)
   */
  public TrainerSupervisor(
      String name, Supplier<Attempt> attempts, Duration initialBackoff, Duration maxBackoff) {
    this.name = name;
    this.attempts = attempts;
    this.initialBackoffMs = Math.max(1, initialBackoff.toMillis());
    this.maxBackoffMs = Math.max(initialBackoffMs, maxBackoff.toMillis());
    this.thread = new Thread(this::supervise, name);
  }

  /** The trainers' defaults: 1 s doubling to 60 s. */
  public static TrainerSupervisor withDefaults(String name, Supplier<Attempt> attempts) {
    return new TrainerSupervisor(name, attempts, Duration.ofSeconds(1), Duration.ofSeconds(60));
  }

  public TrainerSupervisor start() {
    thread.start();
    return this;
  }

  /** Attempts started after a failure. */
  public long restarts() {
    return restarts.get();
  }

  /** How the latest attempt ended (null while the first runs). */
  public Ending lastEnding() {
    return lastEnding;
  }

  public Thread thread() {
    return thread;
  }

  private void supervise() {
    long backoff = initialBackoffMs;
    while (!stopping) {
      Attempt attempt = attempts.get();
      current = attempt;
      long started = System.nanoTime();
      Ending ending;
      try {
        ending = attempt.run();
      } catch (RuntimeException | Error e) {
        LOG.error("{} attempt threw", name, e);
        ending = Ending.FAILED;
      }
      lastEnding = ending;
      if (stopping || ending != Ending.FAILED) {
        if (ending == Ending.FENCED) {
          LOG.error(
              "{} was fenced by another instance with its transactional id: not restarting", name);
        }
        return;
      }
      if (System.nanoTime() - started > 10 * maxBackoffMs * 1_000_000L) {
        backoff = initialBackoffMs; // it ran for a while: start the back-off over
      }
      LOG.warn("restarting the {} in {} ms", name, backoff);
      synchronized (this) {
        try {
          if (!stopping) {
            wait(backoff);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      backoff = Math.min(maxBackoffMs, backoff * 2);
      if (!stopping) {
        restarts.incrementAndGet();
      }
    }
  }

  /**
   * Stops the current attempt and waits up to {@code timeout} for the thread to end; true if it
   * did.
   */
  public boolean stop(Duration timeout) throws InterruptedException {
    stopping = true;
    Attempt a = current;
    if (a != null) {
      a.stop();
    }
    synchronized (this) {
      notifyAll(); // wakes the back-off wait; the attempt itself is never interrupted (Kafka
      // clients)
    }
    thread.join(timeout.toMillis());
    return !thread.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    stop(Duration.ofSeconds(60));
  }
}
