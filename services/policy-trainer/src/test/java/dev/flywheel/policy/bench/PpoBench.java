package dev.flywheel.policy.bench;

import static dev.flywheel.policy.bench.LoopExperimentOptions.arg;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Devices;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.ValueModel;
import dev.flywheel.policy.train.IterationStats;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PpoTrainer;
import dev.flywheel.policy.train.ScoreNormalizer;
import dev.flywheel.policy.train.ValueInitialisation;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * PPO throughput: rollout tokens/s (KV-cache sampling at temperature 1), update steps/s (policy +
 * value forward/backward + AdamW on a minibatch) and the share of an iteration spent generating,
 * scoring (reward model, reference, value passes) and updating. OpenRLHF and NeMo-Aligner report
 * generation at 80–90% of an RLHF step for billion-parameter models; here the models are tiny and
 * the update is cheap in comparison, or not, depending on the shape.
 *
 * <p>Setup: a policy, a frozen copy as the reference, a reward model of the same shape (value model
 * initialised from it), randomly initialised (an untrained policy rarely says EOS, so every
 * response runs to {@code --max-new}: a fixed workload). PPO defaults of {@link PpoConfig} (rollout
 * batch 32, minibatch 8, 4 epochs) with early stopping off so every iteration does 16 updates;
 * prompts from the built-in set.
 *
 * <pre>
 * mvn -q -pl services/policy-trainer test-compile exec:java                       # small (0.86M), 3 iterations
 * mvn -q -pl services/policy-trainer test-compile exec:java -Dexec.args="--preset tiny --iterations 5"
 * mvn -q -pl services/policy-trainer test-compile exec:java -Dexec.args="--epochs 1 --mini-batch 32 --max-new 128"
 * </pre>
 */
public final class PpoBench {

  private PpoBench() {}

  public static void main(String[] args) throws Exception {
    String omp = NativeRuntime.configure();
    String preset = arg(args, "--preset", "small");
    int iterations = Integer.parseInt(arg(args, "--iterations", "3"));
    int batch = Integer.parseInt(arg(args, "--batch", "32"));
    int maxNew = Integer.parseInt(arg(args, "--max-new", "48"));
    String device = arg(args, "--device", "auto");
    GptConfig config =
        switch (preset) {
          case "tiny" -> GptConfig.tiny();
          case "medium" -> GptConfig.medium();
          default -> GptConfig.small();
        };
    PpoConfig ppo = new PpoConfig();
    ppo.setRolloutBatchSize(batch);
    ppo.setMaxNewTokens(maxNew);
    ppo.setEarlyStopping(false);
    ppo.setPpoEpochs(Integer.parseInt(arg(args, "--epochs", String.valueOf(ppo.getPpoEpochs()))));
    ppo.setMiniBatchSize(
        Integer.parseInt(
            arg(args, "--mini-batch", "8"))); // the bench's fixed workload, not the service default

    List<int[]> prompts = builtinPrompts();
    Engine engine = Engine.getInstance();
    engine.setRandomSeed(1);
    try (NDManager manager = Devices.newManager(device);
        PolicyModel policy = PolicyModel.create(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager);
        RewardModel rm = RewardModel.create(config, manager)) {
      reference.copyTrunkFrom(policy);
      System.out.printf(
          Locale.ROOT,
          "engine %s %s, device %s, intra-op threads %s, OMP_WAIT_POLICY=%s, cores %d%n",
          engine.getEngineName(),
          engine.getVersion(),
          manager.getDevice(),
          System.getProperty("ai.djl.pytorch.num_threads"),
          omp,
          Runtime.getRuntime().availableProcessors());
      System.out.printf(
          Locale.ROOT,
          "model %s: %,d parameters per network (policy, reference, value, reward)%n",
          preset,
          policy.parameterCount());
      System.out.printf(
          Locale.ROOT,
          "PPO: rollout batch %d, max new tokens %d, minibatch %d, epochs %d (%d updates/iteration)%n%n",
          batch,
          maxNew,
          ppo.getMiniBatchSize(),
          ppo.getPpoEpochs(),
          ppo.getPpoEpochs() * ((batch + ppo.getMiniBatchSize() - 1) / ppo.getMiniBatchSize()));
      try (ValueModel value =
          ValueInitialisation.create(PpoConfig.ValueInit.REWARD_MODEL, policy, rm, 0, 1, manager)) {
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
        Random random = new Random(7);
        trainer.iterate(sample(prompts, batch, random), 0); // warm-up (allocator, JIT)
        System.out.println(
            "| iteration | tokens | generate s | score s | update s | rollout tok/s | update steps/s | generation share |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        double gen = 0;
        double score = 0;
        double upd = 0;
        long tokens = 0;
        long steps = 0;
        for (int i = 1; i <= iterations; i++) {
          IterationStats s = trainer.iterate(sample(prompts, batch, random), i);
          gen += s.generationSeconds();
          score += s.scoringSeconds();
          upd += s.updateSeconds();
          tokens += s.generatedTokens();
          steps += s.updateSteps();
          System.out.printf(
              Locale.ROOT,
              "| %d | %d | %.2f | %.2f | %.2f | %,.0f | %.2f | %.0f%% |%n",
              i,
              s.generatedTokens(),
              s.generationSeconds(),
              s.scoringSeconds(),
              s.updateSeconds(),
              s.rolloutTokensPerSecond(),
              s.updateStepsPerSecond(),
              100 * s.generationShare());
        }
        double total = gen + score + upd;
        System.out.printf(
            Locale.ROOT,
            "%nmean over %d iterations: rollout %,.0f tokens/s, %.2f update steps/s "
                + "(%,.0f training tokens/s), iteration %.2f s = generation %.0f%% + scoring %.0f%% + update %.0f%%%n",
            iterations,
            tokens / gen,
            steps / upd,
            (double) steps
                * ppo.getMiniBatchSize()
                * tokensPerRow(tokens, iterations, batch, prompts)
                / upd,
            total / iterations,
            100 * gen / total,
            100 * score / total,
            100 * upd / total);
      }
    }
  }

  /** Rough tokens per training row: mean prompt length + mean response length. */
  private static double tokensPerRow(
      long generated, int iterations, int batch, List<int[]> prompts) {
    double prompt = prompts.stream().mapToInt(p -> p.length).average().orElse(0);
    return prompt + (double) generated / iterations / batch;
  }

  private static List<int[]> sample(List<int[]> prompts, int n, Random random) {
    List<int[]> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(prompts.get(random.nextInt(prompts.size())));
    }
    return out;
  }

  private static List<int[]> builtinPrompts() throws Exception {
    ChatTemplate chat = new ChatTemplate();
    List<int[]> out = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(
                PpoBench.class.getResourceAsStream("/prompts/builtin.txt"),
                StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (!line.isBlank() && !line.startsWith("#")) { // prompts of 20-60 tokens
          out.add(chat.encodeForGeneration(List.of(ChatTurn.user(line.strip()))));
        }
      }
    }
    return out;
  }
}
