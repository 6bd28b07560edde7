package dev.flywheel.serving.engine;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * One request's rows (its n candidates), decoded together in one batch. {@link #result()} completes
 * with every row's {@link RowResult} once the last row ends, exceptionally if decoding failed or
 * the job was {@link #cancel() cancelled}.
 */
public final class DecodeJob {

  private final List<RowSpec> rows;
  private final JobListener listener;
  private final int promptLength;
  private final int maxNewTokens;
  private final CompletableFuture<List<RowResult>> result = new CompletableFuture<>();
  private final RowResult[] finished;
  private int finishedCount;
  private volatile boolean cancelled;
  volatile long enqueuedNanos;
  volatile long startedNanos;

  public DecodeJob(List<RowSpec> rows, JobListener listener) {
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("a job needs at least one row");
    }
    this.rows = List.copyOf(rows);
    this.listener = listener;
    this.promptLength = rows.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
    this.maxNewTokens = rows.stream().mapToInt(RowSpec::maxNewTokens).max().orElseThrow();
    this.finished = new RowResult[rows.size()];
  }

  public List<RowSpec> rows() {
    return rows;
  }

  public int rowCount() {
    return rows.size();
  }

  /** Longest prompt of the job's rows. */
  public int promptLength() {
    return promptLength;
  }

  /** Largest maxNewTokens of the job's rows. */
  public int maxNewTokens() {
    return maxNewTokens;
  }

  public CompletableFuture<List<RowResult>> result() {
    return result;
  }

  /** Stops decoding this job's rows at the next step (e.g. the streaming client went away). */
  public void cancel() {
    cancelled = true;
    result.completeExceptionally(new CancellationException("cancelled"));
  }

  public boolean cancelled() {
    return cancelled;
  }

  /** Nanos from submission to the start of its batch (0 until then). */
  public long queueNanos() {
    return startedNanos == 0 ? 0 : startedNanos - enqueuedNanos;
  }

  JobListener listener() {
    return listener;
  }

  void rowFinished(int row, RowResult rowResult) {
    finished[row] = rowResult;
    if (!cancelled) {
      listener.onRowFinished(row, rowResult);
    }
    if (++finishedCount == finished.length) {
      result.complete(Arrays.asList(finished.clone()));
    }
  }

  void fail(Throwable error) {
    result.completeExceptionally(error);
  }
}
