package dev.flywheel.model.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.Devices;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Training and generation throughput of the ML core on this machine.
 *
 * <pre>
 *   mvn -q -pl services/model test-compile exec:java      # full run (~1 min on 2 cores)
 *   mvn -q -pl services/model test-compile exec:java -Dexec.args=--quick
 *   mvn -q -pl services/model test-compile exec:java -Dexec.args="--device gpu"
 * </pre>
 *
 * Reports, for d_model 128 and 256, training tokens/s and model FLOP/s as a fraction of a 1024^3
 * float32 matmul timed in the same run ("MFU on this CPU"), and generation tokens/s with and
 * without the KV cache for 128 new tokens at batch 1 and 16.
 *
 * <p>Model FLOPs per trained token follow PaLM (Chowdhery et al. 2022, appendix B): 6·N + 12·L·d·T,
 * where N counts the parameters used in matmuls (transformer blocks plus the tied LM head;
 * embedding lookups do no FLOPs) and 12·L·d·T is attention's QK^T and AV over a full T x T score
 * matrix (causal masking's zeros are counted, as PaLM does).
 */
public final class ModelBench {

  private static final int NEW_TOKENS = 128;

  public static void main(String[] args) {
    boolean quick = List.of(args).contains("--quick");
    int deviceArg = List.of(args).indexOf("--device");
    String device = deviceArg >= 0 && deviceArg + 1 < args.length ? args[deviceArg + 1] : "auto";
    String ompPolicy = NativeRuntime.configure();

    Engine engine = Engine.getInstance();
    try (NDManager manager = Devices.newManager(device)) {
      System.out.printf(
          Locale.ROOT,
          "engine %s %s, device %s, intra-op threads %s, OMP_WAIT_POLICY=%s, cores %d%n",
          engine.getEngineName(),
          engine.getVersion(),
          manager.getDevice(),
          System.getProperty("ai.djl.pytorch.num_threads"),
          ompPolicy,
          Runtime.getRuntime().availableProcessors());

      // the machine is shared: take the best matmul seen before and after the training runs
      double peakBefore = matmulFlops(manager, quick ? 5 : 20);
      List<double[]> flops = new ArrayList<>();
      for (int d : new int[] {128, 256}) {
        GptConfig config = new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 4, d, d / 32, 0.0f);
        flops.add(training(manager, config, 16, 128, quick ? 2 : 12));
      }
      double peakAfter = matmulFlops(manager, quick ? 5 : 20);
      double peak = Math.max(peakBefore, peakAfter);
      System.out.printf(
          Locale.ROOT,
          "%nreference: 1024^3 float32 matmul %.1f GFLOP/s (best of runs; %.1f before, %.1f after training)%n",
          peak / 1e9,
          peakBefore / 1e9,
          peakAfter / 1e9);

      System.out.printf(
          Locale.ROOT, "%n## Training (AdamW step incl. clipping; batch 16 x 128 tokens)%n");
      System.out.printf(
          Locale.ROOT,
          "| d_model | layers | params | tokens/s | model GFLOP/s | MFU vs matmul |%n");
      System.out.printf(Locale.ROOT, "|---|---|---|---|---|---|%n");
      for (double[] row : flops) {
        System.out.printf(
            Locale.ROOT,
            "| %.0f | %.0f | %,.0f | %,.0f | %.1f | %.1f%% |%n",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4] / 1e9,
            100 * row[4] / peak);
      }

      System.out.printf(
          Locale.ROOT,
          "model FLOPs per token = 6*N + 12*L*d*T (PaLM), N = block parameters + tied LM head%n");

      System.out.printf(
          Locale.ROOT,
          "%n## Generation (%d new tokens, d_model 128, 4 layers, prompt 16-31 tokens, T=1 sampling)%n",
          quick ? 32 : NEW_TOKENS);
      System.out.printf(
          Locale.ROOT, "| batch | KV cache tokens/s | no cache tokens/s | speed-up |%n");
      System.out.printf(Locale.ROOT, "|---|---|---|---|%n");
      GptConfig config = new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 4, 128, 4, 0.0f);
      try (PolicyModel policy = PolicyModel.create(config, manager)) {
        for (int batch : new int[] {1, 16}) {
          generationRow(policy, batch, quick);
        }
      }
    }
  }

  /** Best FLOP/s of a 1024 x 1024 by 1024 x 1024 float32 matmul. */
  static double matmulFlops(NDManager manager, int runs) {
    int n = 1024;
    double best = Double.MAX_VALUE;
    try (NDManager sm = manager.newSubManager()) {
      NDArray a = sm.randomUniform(-1, 1, new Shape(n, n));
      NDArray b = sm.randomUniform(-1, 1, new Shape(n, n));
      for (int i = 0; i < runs + 3; i++) {
        long start = System.nanoTime();
        try (NDArray c = a.matMul(b)) {
          c.getFloat(0, 0); // waits for the device
        }
        if (i >= 3) { // the first runs warm up
          best = Math.min(best, System.nanoTime() - start);
        }
      }
    }
    return 2.0 * n * n * n / (best / 1e9);
  }

  /** {d_model, layers, parameters, tokens/s, model FLOP/s} of training steps on random tokens. */
  static double[] training(NDManager manager, GptConfig config, int batch, int length, int steps) {
    Random random = new Random(0);
    List<int[]> sequences = new ArrayList<>();
    for (int i = 0; i < batch; i++) {
      int[] s = new int[length];
      for (int t = 0; t < length; t++) {
        s[t] = random.nextInt(256);
      }
      sequences.add(s);
    }
    try (PolicyModel policy = PolicyModel.create(config, manager)) {
      Learner learner =
          new Learner(OptimizerConfig.adamW(LearningRateSchedule.constant(1e-4f, 0)), policy);
      Learner.LossFunction loss =
          (sm, micro) -> {
            TokenBatch b = TokenBatch.of(sm, sequences, TokenBatch.Side.RIGHT);
            return SftLoss.loss(policy.logits(b.tokens(), b.mask(), true), b.tokens(), b.mask());
          };
      for (int i = 0; i < 2; i++) {
        learner.step(loss);
      }
      long start = System.nanoTime();
      for (int i = 0; i < steps; i++) {
        learner.step(loss);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double tokensPerSecond = steps * (double) batch * length / seconds;
      long d = config.dModel();
      long matmulParameters =
          config.layers() * config.parametersPerLayer() + config.vocabSize() * d;
      double flopsPerToken = 6.0 * matmulParameters + 12.0 * config.layers() * d * length;
      return new double[] {
        d,
        config.layers(),
        policy.parameterCount(),
        tokensPerSecond,
        tokensPerSecond * flopsPerToken
      };
    }
  }

  static void generationRow(PolicyModel policy, int batch, boolean quick) {
    Random random = new Random(1);
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < batch; i++) {
      int[] p = new int[16 + random.nextInt(16)];
      p[0] = ByteTokenizer.BOS;
      for (int t = 1; t < p.length; t++) {
        p[t] = random.nextInt(256);
      }
      prompts.add(p);
    }
    Sampler sampler = new Sampler(policy);
    SamplingConfig config = new SamplingConfig(1f, 1f, 0, quick ? 32 : NEW_TOKENS, false, 7L, true);
    sampler.generate(prompts, config.withMaxNewTokens(8)); // warm-up
    double cached = tokensPerSecond(sampler, prompts, config);
    double uncached = tokensPerSecond(sampler, prompts, config.withKvCache(false));
    System.out.printf(
        Locale.ROOT,
        "| %d | %,.0f | %,.0f | %.1fx |%n",
        batch,
        cached,
        uncached,
        cached / uncached);
  }

  private static double tokensPerSecond(
      Sampler sampler, List<int[]> prompts, SamplingConfig config) {
    long start = System.nanoTime();
    int tokens = sampler.generate(prompts, config).stream().mapToInt(g -> g.tokens().length).sum();
    return tokens / ((System.nanoTime() - start) / 1e9);
  }
}
