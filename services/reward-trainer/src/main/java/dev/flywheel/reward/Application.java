package dev.flywheel.reward;

import io.micronaut.runtime.Micronaut;

/**
 * The reward trainer service: trains reward model versions from {@code training.comparisons} in
 * rounds and publishes them to {@code models.reward.versions}; {@code /health} and {@code
 * /prometheus} over HTTP.
 *
 * <p>Run with an explicit modest heap and the DJL/OpenMP settings (see README): {@code
 * OMP_WAIT_POLICY=PASSIVE java -Xmx512m -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=2
 * -Dai.djl.pytorch.num_interop_threads=1 -jar flywheel-reward-trainer-*-all.jar}
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) {
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
