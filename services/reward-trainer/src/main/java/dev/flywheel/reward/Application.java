package dev.flywheel.reward;

import dev.flywheel.model.NativeRuntime;
import io.micronaut.runtime.Micronaut;

/**
 * The reward trainer service: trains reward model versions from {@code training.comparisons} in
 * rounds and publishes them to {@code models.reward.versions}; {@code /health} and {@code
 * /prometheus} over HTTP.
 *
 * <p>Run with an explicit modest heap (see README): {@code java -Xmx512m -jar
 * flywheel-reward-trainer-*-all.jar}; the DJL/OpenMP settings ({@link NativeRuntime}) are applied
 * first thing unless given on the command line.
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) {
    NativeRuntime.configure(); // before anything touches PyTorch
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
