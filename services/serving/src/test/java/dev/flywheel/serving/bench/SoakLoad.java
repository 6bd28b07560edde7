package dev.flywheel.serving.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The soak's clients, all on loopback and all ending at a deadline:
 *
 * <ul>
 *   <li>gateway clients post rankings at a fixed rate each (open loop: a slow gateway does not slow
 *       them down), over one shared keep-alive HTTP client;
 *   <li>serving clients send completions back to back, each on a new connection: non-streaming,
 *       streaming to {@code [DONE]}, or streaming and then hanging up after the first one to three
 *       chunks (half of those with a TCP reset, half with a normal close) — the clients that
 *       disconnect mid-stream.
 * </ul>
 *
 * Latencies (request sent to last byte; streams that were cut are not timed) are kept per window
 * until {@link #drain}.
 */
final class SoakLoad {

  /** What the clients do. */
  record Settings(
      int gatewayClients,
      double gatewayRatePerClient,
      int servingClients,
      double disconnectShare,
      double streamShare,
      int maxTokens) {}

  /** Latency percentiles (ms) and counts of one window. */
  record Window(
      int gatewayRequests,
      double gatewayP50,
      double gatewayP99,
      int servingRequests,
      double servingP50,
      double servingP99) {}

  private final URI gateway;
  private final URI serving;
  private final String key;
  private final Settings settings;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final AtomicReference<ConcurrentLinkedQueue<Double>> gatewayLatencies =
      new AtomicReference<>(new ConcurrentLinkedQueue<>());
  private final AtomicReference<ConcurrentLinkedQueue<Double>> servingLatencies =
      new AtomicReference<>(new ConcurrentLinkedQueue<>());
  final AtomicLong gatewayOk = new AtomicLong();
  final AtomicLong gatewayFailed = new AtomicLong();
  final AtomicLong completions = new AtomicLong();
  final AtomicLong streamsCompleted = new AtomicLong();
  final AtomicLong streamsCut = new AtomicLong();
  final AtomicLong servingBusy = new AtomicLong();
  final AtomicLong servingFailed = new AtomicLong();
  private final ConcurrentLinkedQueue<String> firstFailures = new ConcurrentLinkedQueue<>();

  SoakLoad(URI gateway, URI serving, String key, Settings settings) {
    this.gateway = gateway;
    this.serving = serving;
    this.key = key;
    this.settings = settings;
  }

  /** Starts every client; each stops by itself at {@code deadlineNanos}. */
  List<Thread> start(long deadlineNanos) {
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < settings.gatewayClients(); c++) {
      int client = c;
      threads.add(thread("soak-gateway-" + c, () -> gatewayClient(client, deadlineNanos)));
    }
    for (int c = 0; c < settings.servingClients(); c++) {
      int client = c;
      threads.add(thread("soak-serving-" + c, () -> servingClient(client, deadlineNanos)));
    }
    return threads;
  }

  /** The latencies since the previous call. */
  Window drain() {
    double[] g = sorted(gatewayLatencies.getAndSet(new ConcurrentLinkedQueue<>()));
    double[] s = sorted(servingLatencies.getAndSet(new ConcurrentLinkedQueue<>()));
    return new Window(
        g.length,
        percentile(g, 0.5),
        percentile(g, 0.99),
        s.length,
        percentile(s, 0.5),
        percentile(s, 0.99));
  }

  /** The first few failures, for the report. */
  List<String> failures() {
    return List.copyOf(firstFailures);
  }

  // ------------------------------------------------------------------------------------------
  // gateway

  private void gatewayClient(int client, long deadline) {
    long period = (long) (1e9 / settings.gatewayRatePerClient());
    long next = System.nanoTime();
    long i = 0;
    while (true) {
      next += period;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        sleepNanos(wait);
      }
      if (System.nanoTime() >= deadline) {
        return;
      }
      String body =
          "{\"eventId\":\""
              + UUID.randomUUID()
              + "\",\"transcriptId\":\"soak-t-"
              + client
              + "-"
              + (i++ % 1000)
              + "\",\"tiers\":[[\"r1\"],[\"r2\",\"r3\"]],\"annotatorId\":\"soak-"
              + client
              + "\"}";
      long t0 = System.nanoTime();
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(gateway.resolve("/v1/rankings"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + key)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          gatewayLatencies.get().add((System.nanoTime() - t0) / 1e6);
          gatewayOk.incrementAndGet();
        } else {
          fail(gatewayFailed, "gateway " + r.statusCode() + " " + r.body());
        }
      } catch (IOException e) {
        fail(gatewayFailed, "gateway " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // serving

  private void servingClient(int client, long deadline) {
    SplittableRandom random = new SplittableRandom(client);
    long i = 0;
    while (System.nanoTime() < deadline) {
      double mode = random.nextDouble();
      boolean cut = mode < settings.disconnectShare();
      boolean stream = cut || mode < settings.disconnectShare() + settings.streamShare();
      String body =
          "{\"model\":\"flywheel\",\"max_tokens\":"
              + settings.maxTokens()
              + ",\"temperature\":1.0"
              + (stream ? ",\"stream\":true" : "")
              + ",\"messages\":[{\"role\":\"user\",\"content\":\"soak client "
              + client
              + " request "
              + (i++)
              + "\"}]}";
      try {
        if (stream) {
          stream(body, cut ? 1 + random.nextInt(3) : 0, random.nextBoolean());
        } else {
          complete(body);
        }
      } catch (IOException e) {
        fail(servingFailed, "serving " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void complete(String body) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(serving.resolve("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 200) {
      servingLatencies.get().add((System.nanoTime() - t0) / 1e6);
      completions.incrementAndGet();
    } else if (r.statusCode() == 429) {
      servingBusy.incrementAndGet();
    } else {
      fail(servingFailed, "serving " + r.statusCode() + " " + r.body());
    }
  }

  /**
   * A streamed completion on its own connection (raw HTTP/1.1, so that hanging up is exactly that):
   * reads to {@code [DONE]}, or hangs up after {@code cutAfter} chunks ({@code 0}: never), with a
   * TCP reset if {@code reset}.
   */
  private void stream(String body, int cutAfter, boolean reset) throws IOException {
    byte[] payload = body.getBytes(StandardCharsets.UTF_8);
    long t0 = System.nanoTime();
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(serving.getHost(), serving.getPort()), 5_000);
      socket.setSoTimeout(60_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: "
                  + serving.getAuthority()
                  + "\r\nAuthorization: Bearer "
                  + key
                  + "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: "
                  + payload.length
                  + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(payload);
      out.flush();
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      String status = in.readLine();
      if (status == null || !status.contains(" 200")) {
        if (status != null && status.contains(" 429")) {
          servingBusy.incrementAndGet();
        } else {
          fail(servingFailed, "serving stream " + status);
        }
        return;
      }
      int chunks = 0;
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (!line.startsWith("data:")) {
          continue;
        }
        if (line.contains("[DONE]")) {
          servingLatencies.get().add((System.nanoTime() - t0) / 1e6);
          streamsCompleted.incrementAndGet();
          return;
        }
        if (line.contains("\"error\"")) {
          fail(servingFailed, "serving stream error event " + line);
          return;
        }
        if (cutAfter > 0 && ++chunks >= cutAfter) {
          if (reset) {
            socket.setSoLinger(true, 0);
          }
          streamsCut.incrementAndGet();
          return; // closing the socket hangs up mid-stream
        }
      }
      fail(servingFailed, "serving stream ended without [DONE]");
    }
  }

  // ------------------------------------------------------------------------------------------
  // parts

  private void fail(AtomicLong counter, String what) {
    if (counter.incrementAndGet() <= 5) {
      firstFailures.add(what.length() > 300 ? what.substring(0, 300) + "..." : what);
    }
  }

  private static Thread thread(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void sleepNanos(long nanos) {
    try {
      Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static double[] sorted(ConcurrentLinkedQueue<Double> latencies) {
    double[] out = latencies.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(out);
    return out;
  }

  static double percentile(double[] sorted, double p) {
    return sorted.length == 0
        ? Double.NaN
        : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }
}
