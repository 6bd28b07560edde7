package dev.flywheel.model;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Turns PyTorch's autograd off for the current thread and restores the previous mode on close.
 *
 * <p>Grad mode is per thread in PyTorch and on by default in every new thread, so a request thread
 * that runs a model without this records an autograd graph for nothing (memory and time). Open and
 * close it on the same thread:
 *
 * <pre>{@code
 * try (InferenceMode ignored = InferenceMode.enter()) { ... forward passes ... }
 * }</pre>
 */
public final class InferenceMode implements AutoCloseable {

  private final boolean previous;
  private final Thread owner;

  private InferenceMode() {
    previous = JniUtils.isGradMode();
    owner = Thread.currentThread();
    JniUtils.setGradMode(false);
  }

  public static InferenceMode enter() {
    return new InferenceMode();
  }

  @Override
  public void close() {
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException(
          "InferenceMode closed on a different thread than it was entered on");
    }
    JniUtils.setGradMode(previous);
  }
}
