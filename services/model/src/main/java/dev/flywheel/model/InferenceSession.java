package dev.flywheel.model;

import ai.djl.ndarray.NDManager;

/**
 * One request's worth of inference on a shared model: grad mode off for this thread and a private
 * NDManager (a sub-manager of the model's) that frees every array of the request on close.
 *
 * <pre>{@code
 * try (InferenceSession s = InferenceSession.open(policy)) {
 *     TokenBatch batch = TokenBatch.of(s.manager(), prompts, TokenBatch.Side.LEFT);
 *     float[] logits = policy.logits(batch.tokens(), batch.mask(), false).toFloatArray();
 * }
 * }</pre>
 *
 * Any number of threads may hold sessions on the same model at once. A session belongs to the
 * thread that opened it.
 */
public final class InferenceSession implements AutoCloseable {

  private final InferenceMode mode;
  private final NDManager manager;

  private InferenceSession(GptModel model) {
    mode = InferenceMode.enter();
    manager = model.manager().newSubManager();
  }

  public static InferenceSession open(GptModel model) {
    return new InferenceSession(model);
  }

  /** Where to create the request's inputs; on the model's device. */
  public NDManager manager() {
    return manager;
  }

  @Override
  public void close() {
    try {
      manager.close();
    } finally {
      mode.close();
    }
  }
}
