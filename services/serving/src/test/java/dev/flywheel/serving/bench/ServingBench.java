package dev.flywheel.serving.bench;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.serving.TestModels;
import dev.flywheel.serving.TestServing;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.testing.FlywheelInfra;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-to-end serving throughput over loopback HTTP: 1, 4 and 16 closed-loop clients, each sending
 * non-streaming completions back to back for a fixed time (so load is bounded by the client count),
 * against a real broker and registry (every answer waits for its transcript's acks=all).
 *
 * <pre>
 *   mvn -q -pl services/serving test-compile exec:java                      # 20 s per level
 *   mvn -q -pl services/serving test-compile exec:java -Dexec.args="--seconds 5"
 *   mvn -q -pl services/serving test-compile exec:java -Dexec.args="--window-ms 5"
 * </pre>
 *
 * Model: an untrained {@link GptConfig#small()} policy (4 layers, d_model 128, 0.86M parameters,
 * context 256). Requests: a 20-byte prompt, n=1, max_tokens 64, temperature 1 (an untrained model
 * rarely ends its turn early, so nearly every request decodes 64 tokens). Reports completion
 * tokens/s, request latency p50/p99, and the mean decode batch size seen by the server.
 */
public final class ServingBench {

  private ServingBench() {}

  record Level(
      int clients,
      int requests,
      long tokens,
      double seconds,
      double p50,
      double p99,
      double meanBatch) {
    double tokensPerSecond() {
      return tokens / seconds;
    }
  }

  public static void main(String[] args) throws Exception {
    String omp = NativeRuntime.configure();
    List<String> a = Arrays.asList(args);
    int seconds = intArg(a, "--seconds", 20);
    int windowMs = intArg(a, "--window-ms", 10);
    int maxTokens = intArg(a, "--max-tokens", 64);
    System.out.printf(
        Locale.ROOT,
        "cores %d, OMP_WAIT_POLICY=%s, intra-op threads %s, batch window %d ms, %d s per level%n",
        Runtime.getRuntime().availableProcessors(),
        omp,
        System.getProperty("ai.djl.pytorch.num_threads"),
        windowMs,
        seconds);
    FlywheelInfra infra = FlywheelInfra.get();
    try (TestServing serving =
        new TestServing(
            infra,
            Map.of(
                "flywheel.serving.batch-window", windowMs + "ms",
                "flywheel.serving.max-batch-rows", 32,
                "flywheel.serving.max-queued-rows", 256))) {
      Path dir = serving.artifacts.resolve("bench");
      String sha = TestModels.save(dir, 1, GptConfig.small());
      serving.publishVersion(1, ModelStatus.LIVE, dir.toUri().toString(), sha);
      serving.awaitLive(1, Duration.ofSeconds(120));
      run(serving, 2, 3, maxTokens); // warm-up (JIT, allocator, producer)

      List<Level> levels = new ArrayList<>();
      for (int clients : new int[] {1, 4, 16}) {
        levels.add(run(serving, clients, seconds, maxTokens));
      }
      System.out.printf(
          Locale.ROOT,
          "%n| concurrent requests | requests | completion tokens/s | p50 latency | p99 latency | mean batch (rows) |%n");
      System.out.printf(Locale.ROOT, "|---|---|---|---|---|---|%n");
      for (Level l : levels) {
        System.out.printf(
            Locale.ROOT,
            "| %d | %d | %,.0f | %.0f ms | %.0f ms | %.1f |%n",
            l.clients(),
            l.requests(),
            l.tokensPerSecond(),
            l.p50(),
            l.p99(),
            l.meanBatch());
      }
      System.out.printf(
          Locale.ROOT,
          "%nbatched throughput at 16 / batch-1 throughput: %.2fx%n",
          levels.get(2).tokensPerSecond() / levels.get(0).tokensPerSecond());
    } finally {
      FlywheelInfra.shutdown();
    }
    System.exit(0);
  }

  static Level run(TestServing serving, int clients, int seconds, int maxTokens)
      throws InterruptedException {
    double[] batchBefore = batchRows(serving);
    AtomicBoolean running = new AtomicBoolean(true);
    ConcurrentLinkedQueue<Double> latencies = new ConcurrentLinkedQueue<>();
    AtomicInteger failures = new AtomicInteger();
    long[] tokens = new long[clients];
    List<Thread> threads = new ArrayList<>();
    long start = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      int client = c;
      threads.add(
          TestServing.startThread(
              () -> {
                int i = 0;
                while (running.get()) {
                  long t0 = System.nanoTime();
                  Reply reply =
                      serving.completion(
                          TestServing.chat(
                              "flywheel",
                              String.format("client %2d request %4d", client, i++ % 10_000),
                              "max_tokens",
                              maxTokens,
                              "temperature",
                              1.0));
                  if (reply.status() != 200) {
                    failures.incrementAndGet();
                    continue;
                  }
                  latencies.add((System.nanoTime() - t0) / 1e6);
                  tokens[client] += reply.json().get("usage").get("completion_tokens").asLong();
                }
              }));
    }
    Thread.sleep(seconds * 1000L);
    running.set(false);
    for (Thread t : threads) {
      t.join();
    }
    double wall = (System.nanoTime() - start) / 1e9;
    double[] batchAfter = batchRows(serving);
    double[] sorted = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    if (failures.get() > 0) {
      System.out.printf(
          Locale.ROOT, "WARNING: %d failed requests at %d clients%n", failures.get(), clients);
    }
    double meanBatch =
        (batchAfter[0] - batchBefore[0]) / Math.max(1, batchAfter[1] - batchBefore[1]);
    return new Level(
        clients,
        sorted.length,
        Arrays.stream(tokens).sum(),
        wall,
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        meanBatch);
  }

  static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  private static final Pattern SUM =
      Pattern.compile("(?m)^flywheel_serving_batch_rows_sum\\S* ([0-9.E+]+)$");
  private static final Pattern COUNT =
      Pattern.compile("(?m)^flywheel_serving_batch_rows_count\\S* ([0-9.E+]+)$");

  /** {sum, count} of the server's batch-size summary. */
  static double[] batchRows(TestServing serving) {
    String text = serving.get("/prometheus", null).text();
    Matcher sum = SUM.matcher(text);
    Matcher count = COUNT.matcher(text);
    return new double[] {
      sum.find() ? Double.parseDouble(sum.group(1)) : 0,
      count.find() ? Double.parseDouble(count.group(1)) : 0
    };
  }

  private static int intArg(List<String> args, String name, int fallback) {
    int i = args.indexOf(name);
    return i >= 0 && i + 1 < args.size() ? Integer.parseInt(args.get(i + 1)) : fallback;
  }
}
