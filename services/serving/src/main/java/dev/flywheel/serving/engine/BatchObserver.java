package dev.flywheel.serving.engine;

/** What a {@link DecodeWorker} reports about each batch (metrics). */
public interface BatchObserver {

  BatchObserver NONE = new BatchObserver() {};

  /**
   * A batch finished.
   *
   * @param requests jobs in it
   * @param rows rows (candidates) in it
   * @param tokens tokens sampled over all rows
   * @param nanos decode time
   */
  default void batchDecoded(String model, int requests, int rows, long tokens, long nanos) {}

  /**
   * The decode deadline ended {@code rows} running rows of a batch early (finish reason length).
   */
  default void deadlineExceeded(String model, int rows) {}

  /** A batch failed with {@code error} (its jobs fail with it). */
  default void batchFailed(String model, Throwable error) {}
}
