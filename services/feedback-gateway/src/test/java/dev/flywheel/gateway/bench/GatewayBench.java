package dev.flywheel.gateway.bench;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.gateway.TestGateway;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Gateway throughput and latency against a raw KafkaProducer, same broker, same records, same run.
 *
 * <p>Starts its own broker and registry ({@link FlywheelInfra}) and a gateway on 127.0.0.1, then
 * for 1, 16 and 64 concurrent clients runs a closed loop (each client sends one ranking and waits
 * for the answer) against {@code POST /v1/rankings}, and the same loop with {@code
 * producer.send(record).get()} on one shared producer with the gateway's producer settings
 * (acks=all, idempotent, linger 2 ms). Each level runs for {@code bench.seconds} (default 8) or
 * {@code bench.maxRequests} (default 50000) after a warm-up.
 *
 * <pre>
 * mvn -q -pl services/feedback-gateway test-compile exec:java \
 *     -Dexec.mainClass=dev.flywheel.gateway.bench.GatewayBench [-Dbench.seconds=8] [-Dbench.clients=1,16,64]
 * </pre>
 */
public final class GatewayBench {

  private GatewayBench() {}

  record Result(long requests, double seconds, long p50Nanos, long p99Nanos, long errors) {
    double perSecond() {
      return requests / seconds;
    }
  }

  @FunctionalInterface
  interface Call {
    boolean run(int client, long n) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "8"));
    long maxRequests = Long.parseLong(System.getProperty("bench.maxRequests", "50000"));
    int[] levels =
        Arrays.stream(System.getProperty("bench.clients", "1,16,64").split(","))
            .mapToInt(s -> Integer.parseInt(s.trim()))
            .toArray();
    int maxClients = Arrays.stream(levels).max().orElse(1);

    FlywheelInfra infra = FlywheelInfra.get();
    try (TestGateway gateway =
        new TestGateway(infra, Map.of("flywheel.gateway.send-threads", 16))) {
      URI rankings = gateway.base.resolve("/v1/rankings");
      List<HttpClient> clients = new ArrayList<>();
      for (int i = 0; i < maxClients; i++) {
        clients.add(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build());
      }
      Call viaGateway =
          (client, n) -> {
            HttpRequest request =
                HttpRequest.newBuilder(rankings)
                    .header("Authorization", "Bearer " + TestGateway.SHOP_KEY)
                    .header("Content-Type", "application/json")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(json(UUID.randomUUID().toString(), n)))
                    .build();
            return clients
                    .get(client)
                    .send(request, HttpResponse.BodyHandlers.ofString())
                    .statusCode()
                == 200;
          };

      Map<String, Object> props = new HashMap<>(infra.producerProps());
      props.put(ProducerConfig.LINGER_MS_CONFIG, 2);
      props.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.registryUrl());
      AvroSerializer<HumanRanking> values = new AvroSerializer<>();
      values.configure(props, false);
      try (KafkaProducer<String, HumanRanking> producer =
          new KafkaProducer<>(props, new StringSerializer(), values)) {
        Call raw =
            (client, n) -> {
              HumanRanking r = ranking(UUID.randomUUID().toString(), n);
              producer
                  .send(
                      new ProducerRecord<>(Topics.FEEDBACK_RANKINGS.name(), r.getTranscriptId(), r))
                  .get();
              return true;
            };

        System.out.printf(Locale.ROOT, "%nwarming up (JIT, connections, schema registration)...%n");
        run(viaGateway, maxClients, 3, 2_000);
        run(raw, maxClients, 2, 2_000);

        List<String> rows = new ArrayList<>();
        for (int c : levels) {
          Result g = run(viaGateway, c, seconds, maxRequests);
          Result k = run(raw, c, seconds, maxRequests);
          rows.add(
              String.format(
                  Locale.ROOT,
                  "%7d | %9.0f %8.2f %8.2f %6d | %9.0f %8.2f %8.2f | %6.2f",
                  c,
                  g.perSecond(),
                  ms(g.p50Nanos()),
                  ms(g.p99Nanos()),
                  g.errors(),
                  k.perSecond(),
                  ms(k.p50Nanos()),
                  ms(k.p99Nanos()),
                  g.perSecond() / k.perSecond()));
          System.out.println("  done: " + c + " client(s)");
        }
        System.out.printf(
            Locale.ROOT,
            "%nPOST /v1/rankings via the gateway vs KafkaProducer.send().get(), "
                + "closed loop, %.0f s per level, %s, %d cores%n",
            seconds,
            Instant.now(),
            Runtime.getRuntime().availableProcessors());
        System.out.println(
            "clients |  gateway/s  p50(ms)  p99(ms) errors |     raw/s  p50(ms)  p99(ms) | ratio");
        System.out.println(
            "--------+-----------------------------------+------------------------------+------");
        rows.forEach(System.out::println);
      }
    } finally {
      FlywheelInfra.shutdown();
    }
    System.exit(0);
  }

  static Result run(Call call, int clients, double seconds, long maxRequests) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    AtomicLong issued = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<long[]>> futures = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      int client = c;
      futures.add(
          pool.submit(
              () -> {
                long[] lat = new long[1024];
                int count = 0;
                go.await();
                while (System.nanoTime() < deadline) {
                  long n = issued.incrementAndGet();
                  if (n > maxRequests) {
                    break;
                  }
                  long t0 = System.nanoTime();
                  boolean ok;
                  try {
                    ok = call.run(client, n);
                  } catch (Exception e) {
                    ok = false;
                  }
                  long dt = System.nanoTime() - t0;
                  if (!ok) {
                    errors.incrementAndGet();
                    continue;
                  }
                  if (count == lat.length) {
                    lat = Arrays.copyOf(lat, count * 2);
                  }
                  lat[count++] = dt;
                }
                return Arrays.copyOf(lat, count);
              }));
    }
    long t0 = System.nanoTime();
    go.countDown();
    List<long[]> all = new ArrayList<>();
    for (Future<long[]> f : futures) {
      all.add(f.get());
    }
    double elapsed = (System.nanoTime() - t0) / 1e9;
    pool.shutdown();
    long[] merged = all.stream().flatMapToLong(Arrays::stream).sorted().toArray();
    if (merged.length == 0) {
      return new Result(0, elapsed, 0, 0, errors.get());
    }
    return new Result(
        merged.length,
        elapsed,
        merged[(int) (merged.length * 0.50)],
        merged[Math.min(merged.length - 1, (int) (merged.length * 0.99))],
        errors.get());
  }

  static double ms(long nanos) {
    return nanos / 1e6;
  }

  static String json(String eventId, long n) {
    return "{\"eventId\":\""
        + eventId
        + "\",\"transcriptId\":\"bench-"
        + (n % 1000)
        + "\","
        + "\"tiers\":[[\"r1\"],[\"r2\",\"r3\"],[\"r4\"]],\"annotatorId\":\"bench\",\"annotatorPool\":\"training\"}";
  }

  static HumanRanking ranking(String eventId, long n) {
    return new HumanRanking(
        eventId,
        Instant.now(),
        eventId,
        "bench-" + (n % 1000),
        "shop",
        List.of(
            new RankTier(List.of("r1")),
            new RankTier(List.of("r2", "r3")),
            new RankTier(List.of("r4"))),
        "bench",
        AnnotatorPool.TRAINING,
        null);
  }
}
