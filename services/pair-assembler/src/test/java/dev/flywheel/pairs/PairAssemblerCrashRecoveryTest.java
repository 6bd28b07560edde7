package dev.flywheel.pairs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The app as a separate JVM on the real broker, killed with SIGKILL mid-stream and restarted: a
 * read_committed consumer must see every expected comparison group and dead letter exactly once.
 */
@ExtendWith(FlywheelInfraExtension.class)
class PairAssemblerCrashRecoveryTest {

  private static final int N = 300;
  private static final int KILL_AFTER = 60;

  @Test
  void survivesSigkillMidStreamWithExactlyOnceOutput(FlywheelInfra infra) throws Exception {
    String run = infra.uniqueName("crash");
    String appId = "pa-" + run;
    Path stateDir = infra.newTempDirectory("pa-state-");
    Path logs = Files.createDirectories(Path.of("target", "crash-test-logs"));
    int httpPort = freePort();
    // the settings names every Flywheel service reads, plus the pair assembler's own
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("flywheel.kafka.bootstrap-servers", infra.bootstrapServers());
    settings.put("flywheel.registry.url", infra.registryUrl());
    settings.put("micronaut.server.port", Integer.toString(httpPort));
    settings.put("flywheel.pair-assembler.application-id", appId);
    settings.put("flywheel.pair-assembler.state-dir", stateDir.toString());
    settings.put("flywheel.pair-assembler.grace-period", "1h");
    settings.put("flywheel.pair-assembler.metrics-interval", "2s");
    settings.put("flywheel.pair-assembler.streams.session.timeout.ms", "6000");
    settings.put("flywheel.pair-assembler.streams.heartbeat.interval.ms", "1000");

    // expected: every ranking i yields group "<run>-rank-i", except every 25th, which names an
    // unknown response
    Set<String> expectedGroups = new HashSet<>();
    Set<String> expectedDead = new HashSet<>();
    for (int i = 0; i < N; i++) {
      (i % 25 == 7 ? expectedDead : expectedGroups).add(run + "-rank-" + i);
    }

    Process first = null;
    Process second = null;
    AtomicReference<Throwable> producerError = new AtomicReference<>();
    AtomicBoolean producerDone = new AtomicBoolean();
    try (Outputs outputs = new Outputs(infra, run)) {
      first = start(settings, logs.resolve("first.log"));
      awaitHealthy(first, httpPort, logs.resolve("first.log"));

      Thread producer =
          new Thread(
              () -> {
                try {
                  produce(infra, run);
                } catch (Throwable t) {
                  producerError.set(t);
                } finally {
                  producerDone.set(true);
                }
              },
              "crash-test-producer");
      producer.start();

      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (outputs.groups.size() < KILL_AFTER) {
        outputs.poll();
        if (System.nanoTime() > deadline) {
          fail("no progress before the kill; app log:\n" + tail(logs.resolve("first.log")));
        }
      }
      // the management endpoints of every Flywheel service
      assertEquals(200, status(httpPort, "/health/liveness"), "alive while RUNNING");
      assertEquals(200, status(httpPort, "/health/readiness"), "ready while RUNNING");
      String metrics = get(httpPort, "/prometheus");
      assertTrue(metrics.contains("pair_assembler_groups_emitted"), "Prometheus metrics served");
      assertTrue(metrics.contains("pair_assembler_consumer_lag"), "consumer lag served");
      assertTrue(metrics.contains("kafka_stream"), "Kafka Streams metrics served");
      first.destroyForcibly(); // SIGKILL: no clean close, an open transaction is left behind
      first.waitFor();
      int seenAtKill = outputs.groups.size();
      boolean midStream = !producerDone.get() || seenAtKill < expectedGroups.size();
      assertTrue(
          midStream,
          "killed mid-stream (" + seenAtKill + " of " + expectedGroups.size() + " groups out)");

      second = start(settings, logs.resolve("second.log"));
      deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (!(producerDone.get()
          && outputs.groupIds().containsAll(expectedGroups)
          && outputs.deadIds().containsAll(expectedDead))) {
        outputs.poll();
        if (System.nanoTime() > deadline) {
          fail(
              "incomplete after restart: "
                  + outputs.groupIds().size()
                  + "/"
                  + expectedGroups.size()
                  + " groups; app log:\n"
                  + tail(logs.resolve("second.log")));
        }
      }
      producer.join();
      if (producerError.get() != null) {
        throw new AssertionError("producer failed", producerError.get());
      }
      // let any duplicate that would have come show up
      long settle = System.nanoTime() + Duration.ofSeconds(3).toNanos();
      while (System.nanoTime() < settle) {
        outputs.poll();
      }

      assertEquals(expectedGroups, outputs.groupIds());
      assertEquals(expectedGroups.size(), outputs.groups.size(), "every group exactly once");
      assertEquals(expectedDead, outputs.deadIds());
      assertEquals(
          expectedDead.size(), outputs.deadLetters.size(), "every dead letter exactly once");
      Set<String> offsets = new HashSet<>();
      for (ComparisonGroup g : outputs.groups) {
        assertEquals(6, g.getPairs().size());
        assertTrue(
            offsets.add(g.getSourceOffsets().get(0).toString()), "distinct source ranking offsets");
      }
      System.out.printf(
          "crash test: killed after %d of %d groups; all %d groups and %d dead letters exactly once%n",
          seenAtKill, expectedGroups.size(), outputs.groups.size(), outputs.deadLetters.size());
    } finally {
      for (Process p : new Process[] {first, second}) {
        if (p != null && p.isAlive()) {
          p.destroy(); // SIGTERM: clean close
          if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ producing

  private static void produce(FlywheelInfra infra, String run) throws Exception {
    SchemaRegistryClient registry = new HttpSchemaRegistryClient(infra.registryUrl());
    AvroSerializer<ChatTranscript> transcripts = new AvroSerializer<>(registry, true);
    AvroSerializer<HumanRanking> rankings = new AvroSerializer<>(registry, true);
    Map<String, Object> props = infra.producerProps();
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            props,
            new StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      List<Future<?>> sends = new ArrayList<>();
      for (int i = 0; i < N; i++) {
        String transcriptId = run + "-t-" + i;
        ChatTranscript t = Events.transcript(transcriptId, run + " prompt " + (i % 40), 4);
        List<String> order =
            i % 25 == 7 ? List.of("r1", "r2", "r3", "r99") : List.of("r3", "r1", "r4", "r2");
        HumanRanking r = Events.strict(run + "-rank-" + i, transcriptId, "ann-" + (i % 3), order);
        ProducerRecord<String, byte[]> tr =
            new ProducerRecord<>(
                Topics.CHAT_TRANSCRIPTS.name(),
                transcriptId,
                transcripts.serialize(Topics.CHAT_TRANSCRIPTS.name(), t));
        ProducerRecord<String, byte[]> rr =
            new ProducerRecord<>(
                Topics.FEEDBACK_RANKINGS.name(),
                transcriptId,
                rankings.serialize(Topics.FEEDBACK_RANKINGS.name(), r));
        if (i % 5 == 0) { // some rankings arrive before their transcript
          sends.add(producer.send(rr));
          sends.add(producer.send(tr));
        } else {
          sends.add(producer.send(tr));
          sends.add(producer.send(rr));
        }
        if (i % 10 == 9) {
          producer.flush();
          Thread.sleep(40);
        }
      }
      producer.flush();
      for (Future<?> f : sends) {
        f.get(); // surface any failed send
      }
    }
  }

  // ------------------------------------------------------------------ reading

  /**
   * read_committed consumers of the comparisons and dead-letter topics, keeping this run's records.
   */
  private static final class Outputs implements AutoCloseable {
    final List<ComparisonGroup> groups = new ArrayList<>();
    final List<DeadLetter> deadLetters = new ArrayList<>();
    private final String run;
    private final KafkaConsumer<byte[], ComparisonGroup> groupConsumer;
    private final KafkaConsumer<byte[], DeadLetter> deadConsumer;

    Outputs(FlywheelInfra infra, String run) {
      this.run = run;
      SchemaRegistryClient registry = new HttpSchemaRegistryClient(infra.registryUrl());
      groupConsumer =
          new KafkaConsumer<>(
              committed(infra, run + "-groups"),
              new ByteArrayDeserializer(),
              new AvroDeserializer<>(registry, ComparisonGroup.class));
      deadConsumer =
          new KafkaConsumer<>(
              committed(infra, run + "-dead"),
              new ByteArrayDeserializer(),
              new AvroDeserializer<>(registry, DeadLetter.class));
      groupConsumer.subscribe(List.of(Topics.TRAINING_COMPARISONS.name()));
      deadConsumer.subscribe(List.of(Topics.DEAD_LETTERS.name()));
    }

    private static Map<String, Object> committed(FlywheelInfra infra, String group) {
      Map<String, Object> props = new HashMap<>(infra.consumerProps(group));
      props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      return props;
    }

    void poll() {
      for (ConsumerRecord<byte[], ComparisonGroup> r : groupConsumer.poll(Duration.ofMillis(100))) {
        if (r.value().getRankingId().startsWith(run + "-")) {
          groups.add(r.value());
        }
      }
      for (ConsumerRecord<byte[], DeadLetter> r : deadConsumer.poll(Duration.ofMillis(50))) {
        if (r.value().getReason().contains(run + "-rank-")) {
          deadLetters.add(r.value());
        }
      }
    }

    Set<String> groupIds() {
      Set<String> ids = new HashSet<>();
      groups.forEach(g -> ids.add(g.getRankingId()));
      return ids;
    }

    Set<String> deadIds() {
      Set<String> ids = new HashSet<>();
      for (DeadLetter d : deadLetters) {
        String reason = d.getReason();
        int at = reason.indexOf(run + "-rank-");
        ids.add(reason.substring(at).split(" ")[0]);
      }
      return ids;
    }

    @Override
    public void close() {
      groupConsumer.close();
      deadConsumer.close();
    }
  }

  // ------------------------------------------------------------------ the process

  private static Process start(Map<String, String> settings, Path log) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                System.getProperty(
                    "pairs.test.java",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()),
                "-Xmx256m",
                "-XX:+UseSerialGC"));
    settings.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.addAll(
        List.of("-cp", System.getProperty("java.class.path"), Application.class.getName()));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  private static void awaitHealthy(Process process, int port, Path log) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail("app exited with " + process.exitValue() + ":\n" + tail(log));
      }
      try {
        HttpResponse<String> response =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200 && response.body().contains("RUNNING")) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(200);
    }
    fail("app not healthy within 90 s:\n" + tail(log));
  }

  private static int status(int port, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  private static String get(int port, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
