package dev.flywheel.serving.bench;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.infra.support.Ports;
import dev.flywheel.local.FlywheelService;
import dev.flywheel.local.Platform;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.support.FileTrees;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.serving.TestModels;
import dev.flywheel.serving.bench.SoakProbe.Sample;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A bounded soak (a benchmark, not a CI test): the feedback gateway and serving as their own JVMs
 * with the platform's heaps (the local launcher's {@link Platform}: KRaft broker and schema
 * registry as processes), an untrained {@code GptConfig.small()} policy LIVE, and steady load for
 * {@code --minutes} (default 10): gateway clients posting rankings at a fixed rate, serving clients
 * sending completions back to back, a share of them streaming and hanging up mid-stream ({@link
 * SoakLoad}). Every sample interval it records, for each service, heap used after a full GC, live
 * threads, open file descriptors and established TCP connections ({@link SoakProbe}), and the
 * p50/p99 latency of that interval; at the end it prints the first and the last sample side by side
 * and a verdict: a metric "grows" when every sample of the last third is above every sample of the
 * first third by more than its tolerance (p50 latency included, p99 reported only). Exit code 0
 * when nothing grew and no request failed.
 *
 * <pre>
 *   mvn -q -pl services/feedback-gateway,services/serving -am package -DskipTests   # the two service jars
 *   mvn -q -pl services/serving test-compile exec:java -Dbench.main=dev.flywheel.serving.bench.SoakBench \
 *       -Dexec.args="--minutes 10"
 * </pre>
 *
 * Options: {@code --minutes} (10), {@code --gateway-clients} (4), {@code --gateway-rate} (rankings
 * per second per client, 20), {@code --serving-clients} (3), {@code --disconnect-share} (0.3 of
 * completions hang up mid-stream), {@code --stream-share} (0.3 stream to the end; the rest do not
 * stream), {@code --max-tokens} (48), {@code --warm-up-seconds} (30: load before the first sample),
 * {@code --idempotency-entries} (2000: the gateway's idempotency cache, bounded by design at 100
 * 000 ids by default, is full before the first sample, so that what grows after it is not the
 * cache), {@code --keep-data} (keep the data directory and the service logs).
 */
public final class SoakBench {

  /**
   * Growth beyond which a metric "grows": heap MB (and 25 %), threads, descriptors, connections.
   */
  private static final double HEAP_TOLERANCE_MB = 8;

  private static final int THREAD_TOLERANCE = 2;
  private static final int FD_TOLERANCE = 8;

  /** Latency: ms (and 25 %) a window's p50 may rise. */
  private static final double LATENCY_TOLERANCE_MS = 50;

  private SoakBench() {}

  /** One sample of both services and the interval's latencies. */
  record Row(double minutes, Sample gateway, Sample serving, SoakLoad.Window window) {}

  public static void main(String[] args) throws Exception {
    NativeRuntime.configure();
    List<String> a = Arrays.asList(args);
    double minutes = Double.parseDouble(arg(a, "--minutes", "10"));
    SoakLoad.Settings load =
        new SoakLoad.Settings(
            Integer.parseInt(arg(a, "--gateway-clients", "4")),
            Double.parseDouble(arg(a, "--gateway-rate", "20")),
            Integer.parseInt(arg(a, "--serving-clients", "3")),
            Double.parseDouble(arg(a, "--disconnect-share", "0.3")),
            Double.parseDouble(arg(a, "--stream-share", "0.3")),
            Integer.parseInt(arg(a, "--max-tokens", "48")));
    boolean keepData = a.contains("--keep-data");
    String idempotencyEntries = arg(a, "--idempotency-entries", "2000");
    Duration warmUp = Duration.ofSeconds(Long.parseLong(arg(a, "--warm-up-seconds", "30")));
    Duration duration = Duration.ofMillis((long) (minutes * 60_000));
    Duration interval =
        Duration.ofMillis(Math.max(10_000, Math.min(60_000, duration.toMillis() / 12)));
    Path data = Files.createTempDirectory("flywheel-soak");
    System.out.printf(
        Locale.ROOT,
        "soak: %d s warm-up, then %.1f min with a sample every %d s; %s%n",
        warmUp.toSeconds(),
        minutes,
        interval.toSeconds(),
        load);
    int exit;
    try (Platform platform =
        Platform.start(
            new Platform.Settings(
                repoRoot(),
                data,
                Ports.freePort(),
                Ports.freePort(),
                freeRange(),
                List.of(FlywheelService.FEEDBACK_GATEWAY, FlywheelService.SERVING),
                Map.of(
                    FlywheelService.SERVING,
                    Map.of("flywheel.serving.canary-share", "0"),
                    FlywheelService.FEEDBACK_GATEWAY,
                    Map.of("flywheel.gateway.idempotency-max-entries", idempotencyEntries)),
                0),
            m -> System.out.println(m))) {
      publishPolicy(platform);
      URI gateway = URI.create(platform.url(FlywheelService.FEEDBACK_GATEWAY));
      URI serving = URI.create(platform.url(FlywheelService.SERVING));
      awaitReady(serving.resolve("/health"), Duration.ofMinutes(3));
      try (SoakProbe gw =
              SoakProbe.attach(
                  "feedback-gateway",
                  platform.service(FlywheelService.FEEDBACK_GATEWAY).pid(),
                  platform.port(FlywheelService.FEEDBACK_GATEWAY));
          SoakProbe sv =
              SoakProbe.attach(
                  "serving",
                  platform.service(FlywheelService.SERVING).pid(),
                  platform.port(FlywheelService.SERVING))) {
        System.out.printf(
            "probing %s (pid %d) and %s (pid %d)%n", gw.name(), gw.pid(), sv.name(), sv.pid());
        exit =
            run(
                new SoakLoad(gateway, serving, platform.apiKey(), load),
                gw,
                sv,
                warmUp,
                duration,
                interval,
                serving);
      }
    } finally {
      if (keepData) {
        System.out.println("kept: " + data + " (service logs in logs/)");
      } else {
        FileTrees.deleteQuietly(data);
      }
    }
    System.exit(exit);
  }

  private static int run(
      SoakLoad load,
      SoakProbe gw,
      SoakProbe sv,
      Duration warmUp,
      Duration duration,
      Duration interval,
      URI serving)
      throws Exception {
    long deadline = System.nanoTime() + warmUp.toNanos() + duration.toNanos();
    List<Thread> clients = load.start(deadline);
    Thread.sleep(
        warmUp.toMillis()); // JIT, connection pools, the first batches: not part of "start"
    load.drain();
    long start = System.nanoTime();
    List<Row> rows = new ArrayList<>();
    System.out.println();
    System.out.println(header());
    for (long next = start + interval.toNanos();
        next <= deadline + 1_000_000_000L;
        next += interval.toNanos()) {
      Thread.sleep(Math.max(0, (next - System.nanoTime()) / 1_000_000));
      Row row = new Row((System.nanoTime() - start) / 60e9, gw.sample(), sv.sample(), load.drain());
      rows.add(row);
      System.out.println(format(row));
    }
    for (Thread t : clients) {
      t.join(Duration.ofSeconds(90).toMillis());
    }
    System.out.printf(
        Locale.ROOT,
        "%nrequests: gateway %d ok / %d failed; serving %d completions, %d streams to "
            + "[DONE], %d streams cut mid-stream by the client, %d busy (429), %d failed%n",
        load.gatewayOk.get(),
        load.gatewayFailed.get(),
        load.completions.get(),
        load.streamsCompleted.get(),
        load.streamsCut.get(),
        load.servingBusy.get(),
        load.servingFailed.get());
    load.failures().forEach(f -> System.out.println("  failure: " + f));
    System.out.println("serving counted: " + servingOutcomes(serving));
    System.out.printf(
        "%nstart and end (first and last sample; heap after a full GC):%n%s%n%s%n%s%n",
        header(), format(rows.get(0)), format(rows.get(rows.size() - 1)));
    List<String> grew = growth(rows);
    System.out.println(
        grew.isEmpty()
            ? "VERDICT: nothing grew (heap after GC, threads, descriptors, connections: the last third of the samples "
                + "within tolerance of the first third)"
            : "VERDICT: GROWTH in " + String.join("; ", grew));
    return grew.isEmpty() && load.servingFailed.get() == 0 && load.gatewayFailed.get() == 0 ? 0 : 1;
  }

  // ------------------------------------------------------------------------------------------
  // verdict

  /**
   * Metrics whose last-third samples all exceed all first-third samples by more than the tolerance.
   */
  static List<String> growth(List<Row> rows) {
    List<String> grew = new ArrayList<>();
    if (rows.size() < 3) {
      return List.of("too few samples to tell (" + rows.size() + ")");
    }
    check(grew, rows, "gateway heap MB", r -> r.gateway().heapAfterGcMb(), true, HEAP_TOLERANCE_MB);
    check(grew, rows, "serving heap MB", r -> r.serving().heapAfterGcMb(), true, HEAP_TOLERANCE_MB);
    check(grew, rows, "gateway threads", r -> r.gateway().threads(), false, THREAD_TOLERANCE);
    check(grew, rows, "serving threads", r -> r.serving().threads(), false, THREAD_TOLERANCE);
    check(grew, rows, "gateway fds", r -> r.gateway().openFds(), false, FD_TOLERANCE);
    check(grew, rows, "serving fds", r -> r.serving().openFds(), false, FD_TOLERANCE);
    check(grew, rows, "gateway connections", r -> r.gateway().connections(), false, FD_TOLERANCE);
    check(grew, rows, "serving connections", r -> r.serving().connections(), false, FD_TOLERANCE);
    // latency: only a sustained rise of the median counts (p99 on two shared cores is noise)
    check(grew, rows, "gateway p50 ms", r -> r.window().gatewayP50(), true, LATENCY_TOLERANCE_MS);
    check(grew, rows, "serving p50 ms", r -> r.window().servingP50(), true, LATENCY_TOLERANCE_MS);
    return grew;
  }

  private static void check(
      List<String> grew,
      List<Row> rows,
      String name,
      java.util.function.ToDoubleFunction<Row> metric,
      boolean relative,
      double tolerance) {
    int third = Math.max(1, rows.size() / 3);
    double firstMax = rows.subList(0, third).stream().mapToDouble(metric).max().orElseThrow();
    double lastMin =
        rows.subList(rows.size() - third, rows.size()).stream()
            .mapToDouble(metric)
            .min()
            .orElseThrow();
    double allowed = firstMax + tolerance + (relative ? 0.25 * firstMax : 0);
    if (lastMin > allowed) {
      grew.add(
          String.format(
              Locale.ROOT,
              "%s: first third at most %.1f, last third at least %.1f",
              name,
              firstMax,
              lastMin));
    }
  }

  // ------------------------------------------------------------------------------------------
  // output

  private static String header() {
    return String.format(
        Locale.ROOT,
        "%6s | %15s %4s %4s %10s | %15s %4s %4s %10s | %6s %6s %6s | %6s %6s %6s",
        "min",
        "gw heap MB",
        "thr",
        "fds",
        "conn(http)",
        "sv heap MB",
        "thr",
        "fds",
        "conn(http)",
        "gw req",
        "p50ms",
        "p99ms",
        "sv req",
        "p50ms",
        "p99ms");
  }

  private static String format(Row r) {
    return String.format(
        Locale.ROOT,
        "%6.1f | %s | %s | %6d %6.1f %6.1f | %6d %6.0f %6.0f",
        r.minutes(),
        sample(r.gateway()),
        sample(r.serving()),
        r.window().gatewayRequests(),
        r.window().gatewayP50(),
        r.window().gatewayP99(),
        r.window().servingRequests(),
        r.window().servingP50(),
        r.window().servingP99());
  }

  private static String sample(Sample s) {
    return String.format(
        Locale.ROOT,
        "%15.1f %4d %4d %5d(%3d)",
        s.heapAfterGcMb(),
        s.threads(),
        s.openFds(),
        s.connections(),
        s.httpConnections());
  }

  private static final Pattern OUTCOME =
      Pattern.compile(
          "(?m)^flywheel_serving_requests_total\\{[^}]*outcome=\"([^\"]+)\"[^}]*stream=\"([^\"]+)\"[^}]*} ([0-9.E+]+)$");

  /** Serving's own count of completions by outcome (client_cancelled: the clients that hung up). */
  private static String servingOutcomes(URI serving) {
    try {
      String text =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(serving.resolve("/prometheus")).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      StringBuilder out = new StringBuilder();
      Matcher m = OUTCOME.matcher(text);
      while (m.find()) {
        out.append(m.group(1))
            .append(" (stream=")
            .append(m.group(2))
            .append(") ")
            .append((long) Double.parseDouble(m.group(3)))
            .append("; ");
      }
      return out.length() == 0 ? "(no flywheel_serving_requests_total found)" : out.toString();
    } catch (IOException | InterruptedException e) {
      return "(metrics unavailable: " + e + ")";
    }
  }

  // ------------------------------------------------------------------------------------------
  // set-up

  /** An untrained small policy, LIVE on the catalogue's versions topic. */
  private static void publishPolicy(Platform platform) throws Exception {
    Path dir = platform.dataDir().resolve("artifacts").resolve("soak-policy");
    String sha = TestModels.save(dir, 1, GptConfig.small());
    PolicyVersion version =
        PolicyVersion.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setEventTime(Instant.now())
            .setVersion(1)
            .setStage(PolicyStage.PPO)
            .setParentVersions(List.of())
            .setStatus(ModelStatus.LIVE)
            .setCreatedAt(Instant.now())
            .setArtifactUri(dir.toUri().toString())
            .setArtifactSha256(sha)
            .setMetrics(Map.of())
            .setTrainingData(List.of())
            .build();
    try (KafkaProducer<String, PolicyVersion> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                platform.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG,
                "all"),
            new StringSerializer(),
            new AvroSerializer<>(new HttpSchemaRegistryClient(platform.registryUrl()), true))) {
      producer.send(new ProducerRecord<>(Topics.POLICY_VERSIONS.name(), "1", version)).get();
    }
  }

  /** Waits for serving's readiness (a LIVE model loaded and warm). */
  private static void awaitReady(URI health, Duration timeout) throws InterruptedException {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (http.send(
                    HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode()
            == 200) {
          return;
        }
      } catch (IOException notYet) {
        // starting
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("serving not ready at " + health + " after " + timeout);
  }

  private static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("services/serving"))
          && Files.isDirectory(p.resolve("infra"))) {
        return p;
      }
    }
    throw new IllegalStateException(
        "run from the repository (no services/serving above " + dir + ")");
  }

  /** A base port with the six service ports above it free. */
  private static int freeRange() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = 20_000 + (int) (Math.random() * 30_000);
      boolean free = true;
      for (int i = 0; i < FlywheelService.values().length && free; i++) {
        try (ServerSocket s = new ServerSocket(base + i)) {
          s.setReuseAddress(true);
        } catch (IOException taken) {
          free = false;
        }
      }
      if (free) {
        return base;
      }
    }
    throw new IOException("no six consecutive free ports found");
  }

  private static String arg(List<String> args, String name, String fallback) {
    int i = args.indexOf(name);
    return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : fallback;
  }
}
