package dev.flywheel.reward.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.GptConfig;
import dev.flywheel.reward.EncodedGroup;
import dev.flywheel.reward.GroupEncoder;
import dev.flywheel.reward.RewardTrainerConfig;
import dev.flywheel.reward.RunningTrainer;
import dev.flywheel.reward.SyntheticPreferences;
import dev.flywheel.reward.TrainerHarness;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.testing.FlywheelInfra;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reward trainer benchmark, on the real broker and registry (in this JVM; the registry as its own
 * process):
 *
 * <ol>
 *   <li><b>Throughput</b>: {@code --groups} train groups (4 responses, 4 pairs each) + 200 eval
 *       groups are on the topic before the trainer starts; one round trains them all (one epoch).
 *       Reports groups/s of the training loop and model FLOP/s as a fraction of a 1024³ float32
 *       matmul timed in the same run. Model FLOPs per trained sequence of length t: t·(6·N +
 *       12·L·d·t) (PaLM appendix B; N = matmul parameters of the trunk and head; padding not
 *       counted).
 *   <li><b>Latency</b>: a trainer with round trigger N = {@code --latency-groups} is running and
 *       idle; a burst of N groups is produced; reported is the time from the acknowledgement of the
 *       burst's last group (the one that completes the round) to the moment a {@code
 *       read_committed} consumer sees the LIVE/REJECTED record of the version that includes it, and
 *       from the burst's first group. Three bursts: round 1 starts fresh, rounds 2 and 3 warm-start
 *       (and evaluate the parent).
 * </ol>
 *
 * <pre>
 * mvn -q -pl services/reward-trainer test-compile exec:exec                           # tiny model, 1536 groups
 * mvn -q -pl services/reward-trainer test-compile exec:exec -Dbench.args="--groups=3072 --model=small"
 * </pre>
 */
public final class RewardTrainerBench {

  private RewardTrainerBench() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts =
        new HashMap<>(
            Map.of(
                "groups",
                "1536",
                "model",
                "tiny",
                "batch",
                "32",
                "latency-groups",
                "256",
                "device",
                "cpu"));
    for (String a : args) {
      for (String part : a.trim().split("\\s+")) {
        if (part.startsWith("--") && part.contains("=")) {
          opts.put(part.substring(2, part.indexOf('=')), part.substring(part.indexOf('=') + 1));
        }
      }
    }
    int groups = Integer.parseInt(opts.get("groups"));
    int latencyGroups = Integer.parseInt(opts.get("latency-groups"));
    System.out.printf(
        Locale.ROOT,
        "engine %s, intra-op threads %s, OMP_WAIT_POLICY=%s, cores %d, options %s%n",
        Engine.getInstance().getEngineName(),
        System.getProperty("ai.djl.pytorch.num_threads"),
        System.getenv("OMP_WAIT_POLICY"),
        Runtime.getRuntime().availableProcessors(),
        opts);
    FlywheelInfra infra = FlywheelInfra.get();
    try {
      double matmulBefore = matmulFlops(12);
      double[] throughput = throughput(infra, opts, groups);
      double matmulAfter = matmulFlops(12);
      double matmul = Math.max(matmulBefore, matmulAfter);
      List<double[]> latencies = latency(infra, opts, latencyGroups);

      System.out.printf(
          Locale.ROOT,
          "%n== reward trainer bench (%s model, batch %s groups, %s) ==%n",
          opts.get("model"),
          opts.get("batch"),
          opts.get("device"));
      System.out.printf(
          Locale.ROOT,
          "reference: 1024^3 float32 matmul %.1f GFLOP/s (best; %.1f before, %.1f after)%n",
          matmul / 1e9,
          matmulBefore / 1e9,
          matmulAfter / 1e9);
      System.out.printf(
          Locale.ROOT,
          "throughput: %d groups (%d sequences, %d tokens) in %.2f s of training: "
              + "%.1f groups/s, %.0f tokens/s, model %.2f GFLOP/s = %.1f%% of the matmul; eval accuracy %.4f%n",
          (long) throughput[0],
          (long) throughput[1],
          (long) throughput[2],
          throughput[3],
          throughput[0] / throughput[3],
          throughput[2] / throughput[3],
          throughput[4] / throughput[3] / 1e9,
          100 * throughput[4] / throughput[3] / matmul,
          throughput[5]);
      System.out.printf(
          Locale.ROOT,
          "latency (burst of %d groups, round trigger N=%d):%n",
          latencyGroups,
          latencyGroups);
      System.out.printf(
          Locale.ROOT,
          "| round | parent | last group -> version visible | first group -> visible | round s | train s |%n");
      System.out.printf(Locale.ROOT, "|---|---|---|---|---|---|%n");
      for (double[] l : latencies) {
        System.out.printf(
            Locale.ROOT,
            "| %d | %s | %.2f s | %.2f s | %.2f | %.2f |%n",
            (long) l[0],
            l[1] < 0 ? "none" : "v" + (long) l[1],
            l[2],
            l[3],
            l[4],
            l[5]);
      }
    } finally {
      FlywheelInfra.shutdown();
    }
    System.exit(0);
  }

  /** {groups, sequences, tokens, train seconds, model FLOPs, eval accuracy}. */
  private static double[] throughput(FlywheelInfra infra, Map<String, String> opts, int groups)
      throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    SyntheticPreferences prefs = new SyntheticPreferences(1, 0.2);
    Instant t0 = Instant.parse("2025-01-01T00:00:00Z");
    h.produce(h.comparisons, prefs.groups(200, DataSplit.EVAL, t0));
    List<ComparisonGroup> train = prefs.groups(groups, DataSplit.TRAIN, t0.plusSeconds(1));
    h.produce(h.comparisons, train);
    RewardTrainerConfig config = h.config(settings(opts, groups));
    GptConfig shape = config.freshModelConfig();
    GroupEncoder encoder = new GroupEncoder(shape.contextLength());
    long sequences = 0;
    long tokens = 0;
    double flops = 0;
    long d = shape.dModel();
    double matmulParameters = shape.layers() * (double) shape.parametersPerLayer() + d;
    for (ComparisonGroup g : train) {
      EncodedGroup e = encoder.encode(g, 0, 0);
      for (int[] s : e.sequences()) {
        sequences++;
        tokens += s.length;
        flops += s.length * (6.0 * matmulParameters + 12.0 * shape.layers() * d * s.length);
      }
    }
    try (RunningTrainer trainer = new RunningTrainer(config, h.kafka())) {
      List<RewardModelVersion> v =
          h.awaitVersions(
              all -> all.stream().anyMatch(x -> x.getStatus() != ModelStatus.CANDIDATE),
              Duration.ofMinutes(20),
              trainer::describe);
      Map<String, Double> m = v.get(v.size() - 1).getMetrics();
      return new double[] {
        groups, sequences, tokens, m.get("train_seconds"), flops, m.get("eval_accuracy")
      };
    }
  }

  /** Per round: {round, parent, last-group latency s, first-group latency s, round s, train s}. */
  private static List<double[]> latency(FlywheelInfra infra, Map<String, String> opts, int n)
      throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    SyntheticPreferences prefs = new SyntheticPreferences(2, 0.2);
    Instant t0 = Instant.parse("2025-02-01T00:00:00Z");
    h.produce(h.comparisons, prefs.groups(200, DataSplit.EVAL, t0));
    List<double[]> out = new ArrayList<>();
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("bench"));
    props.put("isolation.level", "read_committed");
    try (RunningTrainer trainer = new RunningTrainer(h.config(settings(opts, n)), h.kafka());
        KafkaConsumer<String, RewardModelVersion> versions =
            new KafkaConsumer<>(
                props,
                new StringDeserializer(),
                new AvroDeserializer<>(
                    new HttpSchemaRegistryClient(infra.registryUrl()), RewardModelVersion.class))) {
      versions.assign(List.of(new TopicPartition(h.versions, 0)));
      versions.seekToBeginning(List.of(new TopicPartition(h.versions, 0)));
      while (trainer.trainer.stats().evalGroups() + trainer.trainer.stats().groupsPending() < 200) {
        Thread.sleep(100);
      }
      Thread.sleep(1000);
      for (int round = 1; round <= 3; round++) {
        List<ComparisonGroup> burst = prefs.groups(n, DataSplit.TRAIN, t0.plusSeconds(round));
        long first = System.nanoTime();
        h.produce(h.comparisons, burst.subList(0, n - 1));
        h.produce(h.comparisons, burst.subList(n - 1, n));
        long lastAcked = System.nanoTime();
        RewardModelVersion published = null;
        while (published == null) {
          for (ConsumerRecord<String, RewardModelVersion> r :
              versions.poll(Duration.ofMillis(20))) {
            if (r.value().getVersion() == round && r.value().getStatus() != ModelStatus.CANDIDATE) {
              published = r.value();
            }
          }
        }
        long seen = System.nanoTime();
        out.add(
            new double[] {
              round,
              published.getParentVersion() == null ? -1 : published.getParentVersion(),
              (seen - lastAcked) / 1e9,
              (seen - first) / 1e9,
              published.getMetrics().get("round_seconds"),
              published.getMetrics().get("train_seconds")
            });
      }
    }
    return out;
  }

  private static Map<String, Object> settings(Map<String, String> opts, int roundGroups) {
    Map<String, Object> s = new HashMap<>();
    s.put("flywheel.reward-trainer.model-preset", opts.get("model"));
    s.put("flywheel.reward-trainer.device", opts.get("device"));
    s.put("flywheel.reward-trainer.batch-size-groups", opts.get("batch"));
    s.put("flywheel.reward-trainer.round-min-groups", Integer.toString(roundGroups));
    s.put("flywheel.reward-trainer.checkpoint-every-steps", "0");
    s.put("flywheel.reward-trainer.metrics-every-steps", "1");
    s.put("flywheel.reward-trainer.progress-interval", "10s");
    return s;
  }

  /** Best FLOP/s of a 1024 x 1024 by 1024 x 1024 float32 matmul (same method as ModelBench). */
  private static double matmulFlops(int runs) {
    int n = 1024;
    double best = Double.MAX_VALUE;
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray a = manager.randomUniform(-1, 1, new Shape(n, n));
      NDArray b = manager.randomUniform(-1, 1, new Shape(n, n));
      for (int i = 0; i < runs + 3; i++) {
        long start = System.nanoTime();
        try (NDArray c = a.matMul(b)) {
          c.getFloat(0, 0);
        }
        if (i >= 3) {
          best = Math.min(best, System.nanoTime() - start);
        }
      }
    }
    return 2.0 * n * n * n / (best / 1e9);
  }
}
