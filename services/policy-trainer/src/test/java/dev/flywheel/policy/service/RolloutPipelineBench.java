package dev.flywheel.policy.service;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Devices;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.ValueModel;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.IterationStats;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PpoTrainer;
import dev.flywheel.policy.train.ScoreNormalizer;
import dev.flywheel.policy.train.SourcedRollout;
import dev.flywheel.policy.train.ValueInitialisation;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.trainerkit.KafkaSettings;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Rollouts as events, timed (issue #17): the wall time of an RL round's iterations when the learner
 * samples its own rollouts (today's loop) against rollouts from W workers over Kafka with at most S
 * batches in flight, on the real broker and registry.
 *
 * <p>The workers are {@link RolloutResponder} threads in this JVM sharing one consumer group: the
 * model library's {@code GroupRollout}, the code the rollout-worker service runs, behind the same
 * topics; they share the machine's cores with the learner. The models are randomly initialised (an
 * untrained policy rarely says EOS, so every response runs to {@code --max-new}: a fixed workload);
 * PPO at the service's defaults otherwise.
 *
 * <pre>
 * mvn -q -pl services/policy-trainer test-compile exec:java \
 *     -Dbench.main=dev.flywheel.policy.service.RolloutPipelineBench -Dexec.args="--iterations 6"
 * # generation-heavy: long responses, one PPO epoch of large minibatches
 *     -Dexec.args="--iterations 6 --max-new 128 --epochs 1 --mini-batch 64"
 * </pre>
 *
 * <p>Prints one row per setting, then what the single worker's measured rate implies for N workers
 * on machines of their own (iteration ≈ max(learner time, generation time / N) when S ≥ 1, their
 * sum when S = 0).
 */
public final class RolloutPipelineBench {

  private RolloutPipelineBench() {}

  private record Row(
      String setting,
      double seconds,
      double waitSeconds,
      double learnerSeconds,
      double tokensPerSecond,
      double workerTokensPerSecond,
      double meanStaleness,
      double rewardMean) {}

  public static void main(String[] args) throws Exception {
    String omp = NativeRuntime.configure();
    int iterations = Integer.parseInt(arg(args, "--iterations", "6"));
    int batch = Integer.parseInt(arg(args, "--batch", "64"));
    int maxNew = Integer.parseInt(arg(args, "--max-new", "48"));
    int epochs = Integer.parseInt(arg(args, "--epochs", "4"));
    int miniBatch = Integer.parseInt(arg(args, "--mini-batch", "8"));
    // the trainer's own loop first and last: the drift of a shared machine over the run
    String settings = arg(args, "--settings", "trainer;1:0;1:1;2:0;2:1;2:2;4:0;4:1;trainer");
    // the learner's device; the workers take the engine's default (the first GPU if there is one)
    String device = arg(args, "--device", "auto");
    FlywheelInfra infra = FlywheelInfra.get();
    Path root = infra.newTempDirectory("rollout-bench").toRealPath();
    System.out.printf(
        Locale.ROOT,
        "engine %s on %s, intra-op threads %s, OMP_WAIT_POLICY=%s, cores %d; small model, rollout batch %d,"
            + " max new %d, %d PPO epochs of minibatch %d, %d iterations per setting (after one"
            + " warm-up)%n%n",
        Engine.getInstance().getVersion(),
        Devices.resolve(device),
        System.getProperty("ai.djl.pytorch.num_threads"),
        omp,
        Runtime.getRuntime().availableProcessors(),
        batch,
        maxNew,
        epochs,
        miniBatch,
        iterations);
    List<Row> rows = new ArrayList<>();
    try (NDManager manager = Devices.newManager(device)) {
      Engine.getInstance().setRandomSeed(3);
      RewardModel rm = RewardModel.create(GptConfig.small(), manager);
      Path rmDir = root.resolve("reward/v1");
      String rmSha = ModelArtifacts.save(rmDir, rm, ByteTokenizer.INSTANCE, Map.of());
      for (String setting : settings.split(";")) {
        rows.add(
            run(
                infra,
                root,
                manager,
                rm,
                rmDir.toUri().toString(),
                rmSha,
                setting,
                iterations,
                batch,
                maxNew,
                epochs,
                miniBatch,
                rows.isEmpty() ? "" : " again"));
        Row r = rows.get(rows.size() - 1);
        System.out.printf(
            Locale.ROOT,
            "%s: %.2f s/iteration (learner waited %.2f s, learned %.2f s), %,.0f rollout tok/s overall, %,.0f per worker while generating, staleness %.2f%n",
            r.setting(),
            r.seconds(),
            r.waitSeconds(),
            r.learnerSeconds(),
            r.tokensPerSecond(),
            r.workerTokensPerSecond(),
            r.meanStaleness());
      }
    }
    System.out.println();
    System.out.println(
        "| setting | s / iteration | learner waiting | learner working | rollout tok/s (wall) | tok/s per worker while generating | mean staleness | × vs trainer |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    double base = rows.get(0).seconds();
    for (Row r : rows) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %.2f | %.2f | %.2f | %,.0f | %,.0f | %.2f | %.2f |%n",
          r.setting(),
          r.seconds(),
          r.waitSeconds(),
          r.learnerSeconds(),
          r.tokensPerSecond(),
          r.workerTokensPerSecond(),
          r.meanStaleness(),
          base / r.seconds());
    }
    Row one = rows.stream().filter(r -> r.setting().startsWith("W=1 S=0")).findFirst().orElse(null);
    if (one != null) {
      double gen = (double) batch * maxNew / one.workerTokensPerSecond();
      double learner = one.learnerSeconds();
      System.out.printf(
          Locale.ROOT,
          "%nOn paper, from W=1 S=0 (generation %.2f s per batch at %,.0f tok/s, learner %.2f s): N workers on machines of their own%n",
          gen,
          one.workerTokensPerSecond(),
          learner);
      System.out.println(
          "| N | S = 0: learner + gen / N | S ≥ 1: max(learner, gen / N) | × vs N = 1, S = 0 |");
      System.out.println("|---|---|---|---|");
      for (int n : new int[] {1, 2, 4, 8}) {
        double sync = learner + gen / n;
        double async = Math.max(learner, gen / n);
        System.out.printf(
            Locale.ROOT,
            "| %d | %.2f s | %.2f s | %.2f / %.2f |%n",
            n,
            sync,
            async,
            (learner + gen) / sync,
            (learner + gen) / async);
      }
    }
    FlywheelInfra.shutdown();
  }

  private static Row run(
      FlywheelInfra infra,
      Path root,
      NDManager manager,
      RewardModel rm,
      String rmUri,
      String rmSha,
      String setting,
      int iterations,
      int batch,
      int maxNew,
      int epochs,
      int miniBatch,
      String again)
      throws Exception {
    PpoConfig ppo = new PpoConfig();
    ppo.setRolloutBatchSize(batch);
    ppo.setMaxNewTokens(maxNew);
    ppo.setEarlyStopping(false);
    ppo.setPpoEpochs(epochs);
    ppo.setMiniBatchSize(miniBatch);
    List<int[]> prompts = prompts();
    Engine.getInstance().setRandomSeed(1);
    try (PolicyModel policy = PolicyModel.create(GptConfig.small(), manager);
        PolicyModel reference = PolicyModel.create(GptConfig.small(), manager);
        ValueModel value =
            ValueInitialisation.create(PpoConfig.ValueInit.POLICY, policy, null, 0, 1, manager)) {
      reference.copyTrunkFrom(policy);
      PpoTrainer trainer =
          new PpoTrainer(
              ppo,
              policy,
              reference,
              value,
              new RewardModelScorer(rm, 0),
              PpoTrainer.klController(ppo, ppo.getInitKlCoef()),
              new ScoreNormalizer(),
              List.of());
      WorkerRolloutSource.Plan plan =
          new WorkerRolloutSource.Plan() {
            @Override
            public List<int[]> prompts(int iteration) {
              Random random = new Random(seed(iteration));
              List<int[]> out = new ArrayList<>();
              for (int i = 0; i < batch; i++) {
                out.add(trainer.fitPrompt(prompts.get(random.nextInt(prompts.size()))));
              }
              return out;
            }

            @Override
            public long seed(int iteration) {
              return 1000 + iteration;
            }

            @Override
            public int iterations() {
              return iterations + 1;
            }
          };
      if (setting.equals("trainer")) {
        trainer.iterate(plan.prompts(0), plan.seed(0)); // warm-up
        long t0 = System.nanoTime();
        double gen = 0;
        long tokens = 0;
        double reward = 0;
        for (int it = 1; it <= iterations; it++) {
          IterationStats s = trainer.iterate(plan.prompts(it), plan.seed(it));
          gen += s.generationSeconds();
          tokens += s.generatedTokens();
          reward += s.meanReward();
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        return new Row(
            "trainer (today's loop)" + again,
            wall / iterations,
            gen / iterations,
            (wall - gen) / iterations,
            tokens / wall,
            tokens / gen,
            0,
            reward / iterations);
      }
      String[] ws = setting.split(":");
      int workers = Integer.parseInt(ws[0]);
      int staleness = Integer.parseInt(ws[1]);
      RolloutConfig config = RolloutResponder.benchConfig(infra, staleness);
      List<RolloutResponder> pool = RolloutResponder.pool(infra, config, workers);
      String learner = "bench-" + setting.replace(':', '-') + "-" + System.nanoTime();
      try (WorkerRolloutSource source =
          new WorkerRolloutSource(
              new KafkaSettings(infra.bootstrapServers(), infra.registryUrl()),
              config,
              root,
              new WorkerRolloutSource.Round(
                  learner,
                  1L,
                  1L,
                  rmUri,
                  rmSha,
                  0.0,
                  1.0,
                  1,
                  maxNew,
                  ppo.getMissingEosPenalty(),
                  Instant.now()),
              policy,
              List.of(),
              0,
              () -> false)) {
        trainer.iterate(source.next(0, plan), config.getImportanceCap(), plan.seed(0)); // warm-up
        long t0 = System.nanoTime();
        double wait = 0;
        double sampling = 0;
        long tokens = 0;
        double stale = 0;
        double reward = 0;
        for (int it = 1; it <= iterations; it++) {
          SourcedRollout sourced = source.next(it, plan);
          wait += sourced.waitSeconds();
          sampling +=
              sourced.metrics().getOrDefault("rollout_tokens_per_s", 0.0) > 0
                  ? sourced.scored().rollout().responseTokens()
                      / sourced.metrics().get("rollout_tokens_per_s")
                  : 0;
          tokens += sourced.scored().rollout().responseTokens();
          stale += sourced.staleness();
          IterationStats s = trainer.iterate(sourced, config.getImportanceCap(), plan.seed(it));
          reward += s.meanReward();
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        return new Row(
            "W=" + workers + " S=" + staleness,
            wall / iterations,
            wait / iterations,
            (wall - wait) / iterations,
            tokens / wall,
            tokens / sampling,
            stale / iterations,
            reward / iterations);
      } finally {
        for (RolloutResponder r : pool) {
          r.close();
        }
      }
    }
  }

  private static List<int[]> prompts() {
    ChatTemplate chat = new ChatTemplate();
    List<int[]> out = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      out.add(
          chat.encodeForGeneration(
              List.of(ChatTurn.user("Write a short note number " + i + " to a friend."))));
    }
    return out;
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
