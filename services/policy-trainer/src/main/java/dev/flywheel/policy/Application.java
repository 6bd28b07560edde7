package dev.flywheel.policy;

import dev.flywheel.model.NativeRuntime;
import io.micronaut.runtime.Micronaut;

/**
 * The policy trainer: SFT on demonstrations, then continuous PPO against the latest accepted reward
 * model. See README.md.
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) {
    NativeRuntime.configure(); // before anything touches PyTorch
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
