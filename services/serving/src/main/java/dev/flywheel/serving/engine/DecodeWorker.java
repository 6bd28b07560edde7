package dev.flywheel.serving.engine;

import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.InferenceMode;
import dev.flywheel.model.PolicyModel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that runs a model: a bounded queue of {@link DecodeJob}s and a loop that takes a
 * batch, decodes it to the end with {@link BatchDecoder}, and takes the next.
 *
 * <p><b>Dynamic batching.</b> A batch opens with the oldest waiting job and closes {@code window}
 * after that job arrived or after the previous batch ended, whichever is later, or when it holds
 * {@code maxBatchRows} rows. (Counting from the previous batch's end matters under steady load:
 * clients answered by that batch come back within milliseconds, and without it the batch would
 * close at once around the few requests that had queued up meanwhile, splitting the clients into
 * cohorts that never merge again.) Every job waiting meanwhile joins if its rows fit: the batch's
 * longest prompt plus its largest max_tokens must fit the context (prompts are left-padded to one
 * slot, so a long prompt shortens every row's room). A job that does not fit keeps its place in the
 * queue; the oldest waiting job always opens the next batch, so none is starved by later, smaller
 * ones.
 *
 * <p><b>Admission.</b> {@link #submit} never blocks: it refuses when the queued rows would exceed
 * {@code maxQueuedRows} (the API answers 429) or when the worker is shutting down (the API routes
 * the request again, to the model that replaced this one).
 *
 * <p><b>Shutdown.</b> {@link #shutdown} stops admission; jobs already queued are still decoded,
 * then the thread ends and {@link #terminated()} completes. Only then may the model be closed:
 * every request finishes on the model it was admitted to.
 */
public final class DecodeWorker {

  private static final Logger LOG = LoggerFactory.getLogger(DecodeWorker.class);

  /** Outcome of {@link #submit}. */
  public enum Admission {
    ACCEPTED,
    QUEUE_FULL,
    CLOSED
  }

  /**
   * Batching settings.
   *
   * @param decodeTimeout longest a batch may decode; its rows still running then end with finish
   *     reason {@code length} (see {@link BatchDecoder})
   */
  public record Settings(
      Duration window,
      int maxBatchRows,
      int maxQueuedRows,
      boolean warmUp,
      Duration decodeTimeout) {
    /** Default decode deadline: see {@code flywheel.serving.decode-timeout}. */
    public static final Duration DEFAULT_DECODE_TIMEOUT = Duration.ofSeconds(30);

    public Settings {
      if (window.isNegative()
          || maxBatchRows < 1
          || maxQueuedRows < 1
          || decodeTimeout.isNegative()) {
        throw new IllegalArgumentException("invalid batching settings");
      }
    }

    public Settings(Duration window, int maxBatchRows, int maxQueuedRows, boolean warmUp) {
      this(window, maxBatchRows, maxQueuedRows, warmUp, DEFAULT_DECODE_TIMEOUT);
    }
  }

  private final String name;
  private final BatchDecoder decoder;
  private final Settings settings;
  private final BatchObserver observer;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<DecodeJob> queue = new ArrayDeque<>();
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final Thread thread;
  private int queuedRows;
  private int runningRows;
  private boolean closing;
  private long freeSinceNanos = System.nanoTime();

  public DecodeWorker(String name, PolicyModel policy, Settings settings, BatchObserver observer) {
    this.name = name;
    this.decoder = new BatchDecoder(policy, settings.decodeTimeout());
    this.settings = settings;
    this.observer = observer;
    this.thread = new Thread(this::loop, "decode-" + name);
    this.thread.setDaemon(true);
  }

  /** Starts the thread; {@link #ready()} completes once it has warmed the model up. */
  public DecodeWorker start() {
    thread.start();
    return this;
  }

  /** Completes when the worker accepts jobs (after its warm-up batch). */
  public CompletableFuture<Void> ready() {
    return ready;
  }

  /** Completes when the thread has ended (after {@link #shutdown} and the last queued job). */
  public CompletableFuture<Void> terminated() {
    return terminated;
  }

  public int contextLength() {
    return decoder.contextLength();
  }

  public Admission submit(DecodeJob job) {
    if (job.promptLength() + 1 > decoder.contextLength()) {
      throw new IllegalArgumentException("prompt does not fit the context");
    }
    lock.lock();
    try {
      if (closing) {
        return Admission.CLOSED;
      }
      if (queuedRows + job.rowCount() > settings.maxQueuedRows()) {
        return Admission.QUEUE_FULL;
      }
      job.enqueuedNanos = System.nanoTime();
      queue.addLast(job);
      queuedRows += job.rowCount();
      changed.signalAll();
      return Admission.ACCEPTED;
    } finally {
      lock.unlock();
    }
  }

  /** Rows waiting for a batch (including a batch still open for more requests). */
  public int queuedRows() {
    lock.lock();
    try {
      return queuedRows;
    } finally {
      lock.unlock();
    }
  }

  /** Rows waiting or being decoded. */
  public int pendingRows() {
    lock.lock();
    try {
      return queuedRows + runningRows;
    } finally {
      lock.unlock();
    }
  }

  /** Stops admission; queued jobs are still decoded. Returns {@link #terminated()}. */
  public CompletableFuture<Void> shutdown() {
    lock.lock();
    try {
      closing = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    return terminated;
  }

  private void loop() {
    // grad mode is per thread and on by default: this thread only ever does inference
    try (InferenceMode ignored = InferenceMode.enter()) {
      if (settings.warmUp()) {
        warmUp();
      }
      ready.complete(null);
      while (true) {
        List<DecodeJob> batch = takeBatch();
        if (batch == null) {
          break;
        }
        int rows = batch.stream().mapToInt(DecodeJob::rowCount).sum();
        long start = System.nanoTime();
        try {
          int cut = decoder.decode(batch);
          if (cut > 0) {
            LOG.warn(
                "{}: batch of {} rows passed the decode deadline ({}); {} rows ended early with finish "
                    + "reason length",
                name,
                rows,
                settings.decodeTimeout(),
                cut);
            observer.deadlineExceeded(name, cut);
          }
          long tokens = 0;
          for (DecodeJob job : batch) {
            if (job.result().isDone() && !job.result().isCompletedExceptionally()) {
              tokens += job.result().join().stream().mapToLong(RowResult::tokenCount).sum();
            }
          }
          long nanos = System.nanoTime() - start;
          observer.batchDecoded(name, batch.size(), rows, tokens, nanos);
          if (LOG.isDebugEnabled()) {
            LOG.debug(
                "{}: batch of {} requests / {} rows, {} tokens in {} ms; queued {} ms",
                name,
                batch.size(),
                rows,
                tokens,
                nanos / 1_000_000,
                batch.stream().map(j -> j.queueNanos() / 1_000_000).toList());
          }
        } catch (RuntimeException | Error e) {
          LOG.error("decode batch of {} jobs on {} failed", batch.size(), name, e);
          observer.batchFailed(name, e);
        } finally {
          lock.lock();
          try {
            runningRows = 0;
            freeSinceNanos = System.nanoTime();
          } finally {
            lock.unlock();
          }
        }
      }
    } catch (Throwable t) {
      LOG.error("decode worker {} died", name, t);
      ready.completeExceptionally(t);
      failQueued(t);
    } finally {
      terminated.complete(null);
    }
  }

  /** One short decode so that PyTorch's lazy initialisation does not land on the first request. */
  private void warmUp() {
    DecodeJob job =
        new DecodeJob(
            List.of(
                new RowSpec(
                    new int[] {ByteTokenizer.BOS, ByteTokenizer.ASSISTANT},
                    0f,
                    1f,
                    0,
                    2,
                    0L,
                    List.of())),
            JobListener.NONE);
    decoder.decode(List.of(job));
    job.result().join();
  }

  /** The next batch, or null once shut down with nothing left. */
  private List<DecodeJob> takeBatch() throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        while (queue.isEmpty()) {
          if (closing) {
            return null;
          }
          changed.await(1, TimeUnit.SECONDS);
        }
        // the window opens when the oldest request arrived or when this thread became free,
        // whichever
        // is later: requests that waited behind the previous batch still give the clients answered
        // by
        // that batch the window to come back and join
        long deadline =
            Math.max(queue.peekFirst().enqueuedNanos, freeSinceNanos) + settings.window().toNanos();
        List<DecodeJob> batch = new ArrayList<>();
        int rows = 0;
        int promptLength = 0;
        int maxNew = 0;
        while (true) {
          for (Iterator<DecodeJob> it = queue.iterator(); it.hasNext(); ) {
            DecodeJob job = it.next();
            if (job.cancelled()) {
              it.remove();
              queuedRows -= job.rowCount();
              continue;
            }
            int p = Math.max(promptLength, job.promptLength());
            int m = Math.max(maxNew, job.maxNewTokens());
            boolean fits =
                batch.isEmpty()
                    || (rows + job.rowCount() <= settings.maxBatchRows()
                        && p + m <= decoder.contextLength());
            if (fits) {
              it.remove(); // still counted in queuedRows until the batch closes
              batch.add(job);
              rows += job.rowCount();
              promptLength = p;
              maxNew = m;
            }
          }
          long wait = deadline - System.nanoTime();
          if (rows >= settings.maxBatchRows() || wait <= 0 || closing) {
            break;
          }
          changed.awaitNanos(wait);
        }
        if (!batch.isEmpty()) {
          queuedRows -= rows;
          runningRows = rows;
          return batch;
        }
      }
    } finally {
      lock.unlock();
    }
  }

  private void failQueued(Throwable t) {
    lock.lock();
    try {
      closing = true;
      for (DecodeJob job : queue) {
        job.fail(t);
      }
      queue.clear();
      queuedRows = 0;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "DecodeWorker[" + name + "]";
  }
}
