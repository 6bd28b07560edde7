package dev.flywheel.policy.service;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Devices;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.ValueModel;
import dev.flywheel.policy.bench.HeldOutEvaluation;
import dev.flywheel.policy.bench.LoopExperiment;
import dev.flywheel.policy.bench.RewardModelTraining;
import dev.flywheel.policy.bench.RlSettings;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.IterationStats;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.ScoreNormalizer;
import dev.flywheel.policy.train.SourcedRollout;
import dev.flywheel.simulator.Demonstrations;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.trainerkit.KafkaSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Learning curves, synchronous against asynchronous (issue #17): held-out gold against the
 * learner's wall time when the trainer samples its own rollouts and when W workers answer over
 * Kafka with at most S batches in flight, from the same SFT policy and reward model, on the real
 * broker and registry. The question is whether training on batches one step stale costs learning
 * (the off-policy correction should keep it from doing so) and what it buys in wall time.
 *
 * <p>The SFT policy and the reward model are {@link LoopExperiment}'s (its cache; run it first with
 * {@code --ppo none}); the algorithm is the service's default (PPO, 16 iterations of 128 samples,
 * ptx 1). Workers are {@link RolloutResponder} threads sharing this JVM's cores, as in {@link
 * RolloutPipelineBench}. Gold: {@code --eval-samples} samples at temperature 1 of each of the 50
 * held-out prompts, with common random numbers across settings; evaluation time is not counted.
 *
 * <pre>
 * mvn -q -pl services/policy-trainer test-compile exec:java -Dbench.main=dev.flywheel.policy.bench.LoopExperiment \
 *     -Dexec.args="--seed 1 --groups 400 --rm-epochs 2 --ppo none"
 * mvn -q -pl services/policy-trainer exec:java -Dbench.main=dev.flywheel.policy.service.AsyncLearningBench \
 *     -Dexec.args="--sft /tmp/loop-experiment/sft-1-2000 --rm /tmp/loop-experiment/rm-1-2000-400-2-0.001"
 * </pre>
 */
public final class AsyncLearningBench {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  private AsyncLearningBench() {}

  /** One point of a curve: after {@code iteration} iterations and {@code seconds} of learning. */
  private record Point(int iteration, double seconds, double gold, double meanReward, double kl) {}

  public static void main(String[] args) throws Exception {
    NativeRuntime.configure();
    long seed = Long.parseLong(arg(args, "--seed", "1"));
    int demos = Integer.parseInt(arg(args, "--demos", "2000"));
    Path sftDir = Path.of(arg(args, "--sft", "/tmp/loop-experiment/sft-1-2000"));
    Path rmDir = Path.of(arg(args, "--rm", "/tmp/loop-experiment/rm-1-2000-400-2-0.001"));
    int evalSamples = Integer.parseInt(arg(args, "--eval-samples", "8"));
    int evalEvery = Integer.parseInt(arg(args, "--eval-every", "4"));
    String settings = arg(args, "--settings", "trainer;2:0;2:1");
    boolean verbose = Boolean.parseBoolean(arg(args, "--verbose", "false"));
    PpoConfig ppo = new PpoConfig();
    ppo.setIterationsPerRound(
        Integer.parseInt(arg(args, "--iterations", "" + ppo.getIterationsPerRound())));
    for (Path p : List.of(sftDir, rmDir)) {
      if (!Files.exists(p.resolve(ModelArtifacts.MANIFEST))) {
        throw new IllegalArgumentException(p + ": no artifact; run LoopExperiment first (javadoc)");
      }
    }
    PromptSplit split = PromptSplit.standard();
    List<Demonstrations.Demonstration> demonstrations =
        Demonstrations.generate(split, demos, Demonstrations.DEFAULT_IMPERFECT_SHARE, seed);
    FlywheelInfra infra = FlywheelInfra.get();
    Path root = infra.newTempDirectory("async-learning").toRealPath();
    System.out.printf(
        Locale.ROOT,
        "engine %s, cores %d; SFT %s, reward model %s; %s, %d iterations of %d samples, ptx %.1f;"
            + " gold on %d held-out prompts x %d samples every %d iterations%n",
        Engine.getInstance().getVersion(),
        Runtime.getRuntime().availableProcessors(),
        sftDir,
        rmDir,
        ppo.getAlgorithm(),
        ppo.getIterationsPerRound(),
        ppo.getRolloutBatchSize(),
        ppo.getPtxCoef(),
        split.heldOut().size(),
        evalSamples,
        evalEvery);
    Map<String, List<Point>> curves = new LinkedHashMap<>();
    Map<String, double[]> finalGold = new LinkedHashMap<>();
    try (NDManager manager = Devices.newManager("auto");
        LoadedModel sft = ModelArtifacts.load(sftDir, null, manager);
        LoadedModel rmLoaded = ModelArtifacts.load(rmDir, null, manager)) {
      sft.policy().setTrainable(false);
      RewardModel rm = rmLoaded.reward();
      rm.setTrainable(false);
      // LoopExperiment's offset: the mean score of the training prompts' ideal answers
      double offset = RewardModelTraining.offset(rm, split);
      HeldOutEvaluation.Gold sftGold =
          HeldOutEvaluation.gold(sft.policy(), split, evalSamples, 1f, seed);
      System.out.println("SFT sampled gold " + sftGold);
      for (String setting : settings.split(";")) {
        // a setting named twice (e.g. the trainer's loop) runs twice: the noise floor of a rerun
        String key = curves.containsKey(setting) ? setting + " again" : setting;
        Engine.getInstance().setRandomSeed((int) seed);
        List<Point> curve = new ArrayList<>();
        curve.add(new Point(0, 0, sftGold.mean(), Double.NaN, 0));
        try (LoadedModel start = ModelArtifacts.load(sftDir, null, manager);
            ValueModel value =
                PolicyOptimizer.initValue(ppo, start.policy(), rm, offset, 1.0, manager)) {
          PolicyOptimizer trainer =
              PolicyOptimizer.create(
                  ppo,
                  start.policy(),
                  sft.policy(),
                  value,
                  new RewardModelScorer(rm, offset, 1.0),
                  ppo.getInitKlCoef(),
                  new ScoreNormalizer(),
                  RlSettings.ptx(ppo, demonstrations));
          WorkerRolloutSource.Plan plan = plan(trainer, split, ppo, seed);
          Learner learner =
              setting.equals("trainer")
                  ? it -> trainer.iterate(plan.prompts(it), plan.seed(it))
                  : workers(
                      infra,
                      root,
                      setting,
                      trainer,
                      plan,
                      ppo,
                      start,
                      rmDir,
                      rmLoaded.sha256(),
                      offset);
          double seconds = 0;
          try {
            for (int it = 0; it < ppo.getIterationsPerRound(); it++) {
              long t0 = System.nanoTime();
              IterationStats s = learner.iterate(it);
              seconds += (System.nanoTime() - t0) / 1e9;
              if (verbose) {
                System.out.printf(
                    Locale.ROOT,
                    "    %s it %d: reward %.3f kl %.3f β %.3f clip %.3f approx-kl %.4f steps %d%s %s%n",
                    setting,
                    it + 1,
                    s.meanReward(),
                    s.kl(),
                    s.beta(),
                    s.clipFraction(),
                    s.approxKl(),
                    s.updateSteps(),
                    s.earlyStopped() ? " (early stop)" : "",
                    s.algorithmMetrics());
              }
              if ((it + 1) % evalEvery == 0 || it + 1 == ppo.getIterationsPerRound()) {
                HeldOutEvaluation.Gold g =
                    HeldOutEvaluation.gold(start.policy(), split, evalSamples, 1f, seed);
                curve.add(new Point(it + 1, seconds, g.mean(), s.meanReward(), s.kl()));
                System.out.printf(
                    Locale.ROOT,
                    "  %s it %d: %.1f s learning, reward %.3f, kl %.2f, sampled gold %.3f%n",
                    setting,
                    it + 1,
                    seconds,
                    s.meanReward(),
                    s.kl(),
                    g.mean());
                if (it + 1 == ppo.getIterationsPerRound()) {
                  finalGold.put(key, g.perPrompt());
                }
              }
            }
          } finally {
            learner.close();
          }
        }
        curves.put(key, curve);
      }
      System.out.println();
      System.out.println(
          "| setting | iteration | learning s | sampled gold | rollout reward | KL to SFT |");
      System.out.println("|---|---|---|---|---|---|");
      curves.forEach(
          (setting, curve) -> {
            for (Point p : curve) {
              System.out.printf(
                  Locale.ROOT,
                  "| %s | %d | %.0f | %.3f | %s | %.2f |%n",
                  name(setting),
                  p.iteration(),
                  p.seconds(),
                  p.gold(),
                  Double.isNaN(p.meanReward())
                      ? "–"
                      : String.format(Locale.ROOT, "%.3f", p.meanReward()),
                  p.kl());
            }
          });
      System.out.println();
      double[] base = finalGold.get("trainer");
      finalGold.forEach(
          (setting, gold) -> {
            System.out.printf(
                Locale.ROOT,
                "%s: final − SFT %s%s%n",
                name(setting),
                HeldOutEvaluation.pairedDifference(gold, sftGold.perPrompt(), seed),
                base == null || setting.equals("trainer")
                    ? ""
                    : ", − the trainer's own loop "
                        + HeldOutEvaluation.pairedDifference(gold, base, seed));
          });
    }
    FlywheelInfra.shutdown();
  }

  /** One learner step; closes whatever the step's rollout source holds. */
  private interface Learner extends AutoCloseable {
    IterationStats iterate(int iteration) throws Exception;

    @Override
    default void close() throws Exception {}
  }

  private static String name(String setting) {
    String again = setting.endsWith(" again") ? " again" : "";
    if (setting.startsWith("trainer")) {
      return "trainer (sync, today's loop)" + again;
    }
    String[] ws = setting.replace(" again", "").split(":");
    return "W=" + ws[0] + " S=" + ws[1] + again;
  }

  /** LoopExperiment's prompts: the training split, drawn per iteration. */
  private static WorkerRolloutSource.Plan plan(
      PolicyOptimizer trainer, PromptSplit split, PpoConfig ppo, long seed) {
    List<int[]> prompts =
        split.train().stream()
            .map(Prompt::text)
            .map(t -> trainer.fitPrompt(CHAT.encodeForGeneration(List.of(ChatTurn.user(t)))))
            .toList();
    int perIteration = ppo.getRolloutBatchSize() / ppo.effectiveSamplesPerPrompt();
    return new WorkerRolloutSource.Plan() {
      @Override
      public List<int[]> prompts(int iteration) {
        Random random = new Random(seed * 31 + 7 + iteration);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < perIteration; i++) {
          out.add(prompts.get(random.nextInt(prompts.size())));
        }
        return out;
      }

      @Override
      public long seed(int iteration) {
        return seed * 1000 + iteration;
      }

      @Override
      public int iterations() {
        return ppo.getIterationsPerRound();
      }
    };
  }

  private static Learner workers(
      FlywheelInfra infra,
      Path root,
      String setting,
      PolicyOptimizer trainer,
      WorkerRolloutSource.Plan plan,
      PpoConfig ppo,
      LoadedModel start,
      Path rmDir,
      String rmSha,
      double offset)
      throws Exception {
    String[] ws = setting.split(":");
    RolloutConfig config = RolloutResponder.benchConfig(infra, Integer.parseInt(ws[1]));
    List<RolloutResponder> pool = RolloutResponder.pool(infra, config, Integer.parseInt(ws[0]));
    WorkerRolloutSource source =
        new WorkerRolloutSource(
            new KafkaSettings(infra.bootstrapServers(), infra.registryUrl()),
            config,
            root,
            new WorkerRolloutSource.Round(
                "curve-" + setting.replace(':', '-') + "-" + System.nanoTime(),
                1L,
                1L,
                rmDir.toUri().toString(),
                rmSha,
                offset,
                1.0,
                ppo.effectiveSamplesPerPrompt(),
                ppo.getMaxNewTokens(),
                ppo.getMissingEosPenalty(),
                Instant.now()),
            start.policy(),
            List.of(),
            0,
            () -> false);
    return new Learner() {
      @Override
      public IterationStats iterate(int iteration) throws Exception {
        SourcedRollout sourced = source.next(iteration, plan);
        return trainer.iterate(sourced, config.getImportanceCap(), plan.seed(iteration));
      }

      @Override
      public void close() throws Exception {
        source.close();
        for (RolloutResponder r : pool) {
          r.close();
        }
      }
    };
  }

  private static String arg(String[] args, String name, String fallback) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return fallback;
  }
}
