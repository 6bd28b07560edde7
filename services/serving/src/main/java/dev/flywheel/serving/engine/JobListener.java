package dev.flywheel.serving.engine;

/**
 * Receives a job's output as it is decoded, on the decode thread: keep it cheap and never block.
 * Row indexes are the job's own (0 .. n-1).
 */
public interface JobListener {

  JobListener NONE = new JobListener() {};

  /** Decoding of the job's batch started (the first token is about to be sampled). */
  default void onStart() {}

  /** More text of row {@code row}; never empty. */
  default void onText(int row, String delta) {}

  /** Row {@code row} is finished; called once per row, after its last {@link #onText}. */
  default void onRowFinished(int row, RowResult result) {}
}
