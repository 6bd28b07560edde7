package dev.flywheel.policy.bench;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.simulator.Demonstrations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An SFT policy of a given shape trained on the simulator's demonstrations with the policy
 * trainer's own {@link SftTrainer}, saved under a cache directory and trained only when the
 * directory holds none: the benchmarks' SFT policy, and the trunk a reward model of another shape
 * starts from.
 */
final class SftCheckpoint {

  private SftCheckpoint() {}

  /** Trains into {@code dir} unless a model is already saved there; returns {@code dir}. */
  static Path trainOrLoad(
      Path dir,
      GptConfig config,
      List<Demonstrations.Demonstration> demonstrations,
      int steps,
      int evalEvery,
      NDManager manager)
      throws IOException {
    return trainOrLoad(
        dir, config, demonstrations, steps, new SftConfig().getEpochs(), evalEvery, manager);
  }

  /** The same with {@code epochs} in place of the SFT trainer's default (16). */
  static Path trainOrLoad(
      Path dir,
      GptConfig config,
      List<Demonstrations.Demonstration> demonstrations,
      int steps,
      int epochs,
      int evalEvery,
      NDManager manager)
      throws IOException {
    if (Files.exists(dir.resolve(ModelArtifacts.MANIFEST))) {
      return dir;
    }
    long t0 = System.nanoTime();
    try (PolicyModel policy = PolicyModel.create(config, manager)) {
      List<SftTrainer.Demo> demos =
          demonstrations.stream()
              .map(
                  d ->
                      new SftTrainer.Demo(
                          d.demonstrationId(),
                          List.of(ChatTurn.user(d.prompt().text())),
                          d.response()))
              .toList();
      SftConfig sftConfig = new SftConfig();
      sftConfig.setMaxSteps(steps);
      sftConfig.setEpochs(epochs);
      sftConfig.setEvalEvery(evalEvery);
      SftTrainer.Result r =
          new SftTrainer(sftConfig)
              .train(
                  policy,
                  demos,
                  new SftTrainer.Listener() {
                    @Override
                    public void onEval(int step, double evalLoss, boolean best) {
                      System.out.printf(
                          Locale.ROOT,
                          "  SFT step %d eval loss %.4f%s%n",
                          step,
                          evalLoss,
                          best ? " *" : "");
                    }
                  });
      Files.createDirectories(dir.getParent());
      ModelArtifacts.save(dir, policy, ByteTokenizer.INSTANCE, Map.of());
      System.out.printf(
          Locale.ROOT,
          "SFT %s (%d layers, width %d, %,d parameters): %d steps (best %d of %d planned), eval loss %.3f, %.0fs%n",
          dir.getFileName(),
          config.layers(),
          config.dModel(),
          policy.parameterCount(),
          r.steps(),
          r.bestStep(),
          r.plannedSteps(),
          r.evalLoss(),
          (System.nanoTime() - t0) / 1e9);
    }
    return dir;
  }
}
