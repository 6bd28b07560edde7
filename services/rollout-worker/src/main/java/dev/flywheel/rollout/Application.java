package dev.flywheel.rollout;

import dev.flywheel.model.NativeRuntime;
import io.micronaut.runtime.Micronaut;

/**
 * A rollout worker: one member of the {@code rollout-workers} consumer group that answers the
 * learner's {@code training.rollout-requests} with scored samples on {@code
 * training.rollout-batches}. Scale by adding replicas (up to the request topic's partitions). See
 * README.md.
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) {
    NativeRuntime.configure(); // before anything touches PyTorch
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
