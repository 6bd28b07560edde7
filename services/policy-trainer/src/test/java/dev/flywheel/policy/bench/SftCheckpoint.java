package dev.flywheel.policy.bench;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftContinuation;
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

  /**
   * The benchmarks' epochs unless a setting says otherwise: InstructGPT's 16, the service's default
   * before 32 — every cached policy and README table was trained with it, capped by its steps.
   */
  static final int BENCH_EPOCHS = 16;

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
    return trainOrLoad(dir, config, demonstrations, steps, BENCH_EPOCHS, evalEvery, manager);
  }

  /** The same with {@code epochs} in place of {@link #BENCH_EPOCHS}. */
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
      List<SftTrainer.Demo> demos = demos(demonstrations);
      SftConfig sftConfig = settings(steps, epochs, evalEvery);
      SftTrainer.Result r = new SftTrainer(sftConfig).train(policy, demos, PRINT_EVAL);
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

  /**
   * An SFT policy trained as the service's {@code sft-continue} chain trains it: a first round of
   * at most {@code roundSteps}, then warm-started rounds ({@link SftContinuation#roundConfig})
   * until {@link SftContinuation#verdict} ends the chain; a round that did not improve on its
   * parent is dropped (the service publishes it REJECTED and serves the parent). Trained into
   * {@code dir} unless a model is already saved there.
   */
  static Path trainChainOrLoad(
      Path dir,
      GptConfig config,
      List<Demonstrations.Demonstration> demonstrations,
      int roundSteps,
      int epochs,
      int evalEvery,
      SftConfig.ChainSchedule schedule,
      NDManager manager)
      throws IOException {
    if (Files.exists(dir.resolve(ModelArtifacts.MANIFEST))) {
      return dir;
    }
    long t0 = System.nanoTime();
    List<SftTrainer.Demo> demos = demos(demonstrations);
    SftConfig base = settings(roundSteps, epochs, evalEvery);
    base.setChainSchedule(schedule);
    try (PolicyModel policy = PolicyModel.create(config, manager);
        PolicyModel parent = PolicyModel.create(config, manager)) {
      int train = new SftTrainer(base).split(demos, config.contextLength()).get(0).size();
      int chain = 0;
      int restart = 0;
      for (int round = 0; ; round++) {
        SftConfig c = round == 0 ? base : SftContinuation.roundConfig(base, chain, round, train);
        restart = round == 1 ? chain : restart; // the service's SftContinuation.restartStep
        SftTrainer.ScheduleWindow window =
            round == 0 ? null : SftContinuation.window(base, chain, restart, train);
        parent.copyTrunkFrom(policy);
        SftTrainer.Result r = new SftTrainer(c).train(policy, demos, 0, window, PRINT_EVAL);
        Map<String, Double> m = new java.util.LinkedHashMap<>(r.metrics());
        m.put(SftContinuation.CHAIN_STEPS, (double) chain + r.steps());
        SftContinuation.Verdict verdict = SftContinuation.verdict(m, base);
        boolean kept = round == 0 || SftContinuation.improved(m, base);
        System.out.printf(
            Locale.ROOT,
            "SFT chain round %d: %d steps (best %d of %d planned), eval loss %.4f -> %.4f%s, chain %d steps: %s (%.0fs)%n",
            round,
            r.steps(),
            r.bestStep(),
            r.plannedSteps(),
            r.evalLossBefore(),
            r.evalLoss(),
            kept ? "" : " (dropped: the parent is kept)",
            kept ? chain + r.steps() : chain,
            verdict,
            (System.nanoTime() - t0) / 1e9);
        if (!kept) {
          policy.copyTrunkFrom(parent);
          break;
        }
        chain += r.steps();
        if (verdict != SftContinuation.Verdict.CONTINUE) {
          break;
        }
      }
      Files.createDirectories(dir.getParent());
      ModelArtifacts.save(dir, policy, ByteTokenizer.INSTANCE, Map.of());
      System.out.printf(
          Locale.ROOT,
          "SFT %s: a chain of %d steps, %.0fs%n",
          dir.getFileName(),
          chain,
          (System.nanoTime() - t0) / 1e9);
    }
    return dir;
  }

  private static final SftTrainer.Listener PRINT_EVAL =
      new SftTrainer.Listener() {
        @Override
        public void onEval(int step, double evalLoss, boolean best) {
          System.out.printf(
              Locale.ROOT, "  SFT step %d eval loss %.4f%s%n", step, evalLoss, best ? " *" : "");
        }
      };

  /** The SFT trainer's defaults with the benchmark's step cap, epochs and early stopping. */
  private static SftConfig settings(int maxSteps, int epochs, int evalEvery) {
    SftConfig c = new SftConfig();
    c.setMaxSteps(maxSteps);
    c.setEpochs(epochs);
    c.setEvalEvery(evalEvery);
    return c;
  }

  private static List<SftTrainer.Demo> demos(List<Demonstrations.Demonstration> demonstrations) {
    return demonstrations.stream()
        .map(
            d ->
                new SftTrainer.Demo(
                    d.demonstrationId(), List.of(ChatTurn.user(d.prompt().text())), d.response()))
        .toList();
  }
}
