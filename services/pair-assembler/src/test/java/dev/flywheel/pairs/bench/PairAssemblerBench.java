package dev.flywheel.pairs.bench;

import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.Role;
import dev.flywheel.events.Turn;
import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.pairs.PairAssemblerConfig;
import dev.flywheel.pairs.PairAssemblerMetrics;
import dev.flywheel.pairs.PairAssemblerSerdes;
import dev.flywheel.pairs.PairAssemblerTopology;
import dev.flywheel.pairs.StreamsSettings;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * End-to-end throughput of the pair assembler on a real (in-process, loopback) broker and registry,
 * side by side with a pass-through topology (read both inputs as bytes, write them to one topic)
 * with the same exactly-once settings over the same records.
 *
 * <p>Per K (4 and 9): N transcripts and N rankings are produced first; then each topology starts
 * with a fresh application id at the offsets where this K's records begin, and the clock runs from
 * start() until its committed input offsets (which, under exactly-once, commit together with its
 * outputs) reach the end of both inputs. rankings/s = N / that time. Also reported from RUNNING
 * (without start-up).
 *
 * <pre>mvn -q -pl services/pair-assembler test-compile exec:exec -Dbench.args="--rankings=20000"
 * </pre>
 */
public final class PairAssemblerBench {

  private static final String PASSTHROUGH_TOPIC = "bench.passthrough";
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(5);
  private static final Map<String, String> EXTRA = new HashMap<>();

  private PairAssemblerBench() {}

  record Result(String topology, int k, int n, double totalSeconds, double runningSeconds) {
    double perSecond() {
      return n / totalSeconds;
    }

    double perSecondRunning() {
      return n / runningSeconds;
    }
  }

  public static void main(String[] args) throws Exception {
    int n = 20_000;
    // exec:exec hands -Dbench.args over as one argument: split it
    List<String> words = new ArrayList<>();
    for (String arg : args) {
      for (String word : arg.trim().split("\\s+")) {
        if (!word.isEmpty()) {
          words.add(word);
        }
      }
    }
    for (String arg : words) {
      if (arg.startsWith("--rankings=")) {
        n = Integer.parseInt(arg.substring("--rankings=".length()));
      } else if (arg.startsWith("--streams.") && arg.contains("=")) {
        // extra Kafka Streams settings for both topologies, e.g. --streams.commit.interval.ms=1000
        EXTRA.put(
            arg.substring("--streams.".length(), arg.indexOf('=')),
            arg.substring(arg.indexOf('=') + 1));
      }
    }
    List<Result> results = new ArrayList<>();
    FlywheelInfra infra = FlywheelInfra.get();
    try {
      infra.createTopic(PASSTHROUGH_TOPIC, 6);
      // warm-up (JIT, registry caches, broker): both topologies once, not reported
      int warmup = Math.max(1000, n / 4);
      Map<TopicPartition, Long> from = endOffsets(infra.admin(), inputPartitions(infra.admin()));
      produce(infra, 5, warmup);
      run(infra, "passthrough", 5, warmup, from, passThrough());
      run(infra, "pair-assembler", 5, warmup, from, null);
      System.out.printf("warm-up done (%d rankings, K=5)%n", warmup);
      for (int k : new int[] {4, 9}) {
        Map<TopicPartition, Long> start = endOffsets(infra.admin(), inputPartitions(infra.admin()));
        long t0 = System.nanoTime();
        produce(infra, k, n);
        System.out.printf(
            "K=%d: produced %d transcripts + %d rankings in %.1f s%n", k, n, n, secs(t0));
        Result pass = run(infra, "passthrough", k, n, start, passThrough());
        results.add(pass);
        print(pass);
        Result assembler = run(infra, "pair-assembler", k, n, start, null);
        results.add(assembler);
        print(assembler);
      }
    } finally {
      FlywheelInfra.shutdown();
    }
    System.out.println();
    System.out.println(
        "| K | rankings | pass-through rankings/s | pair-assembler rankings/s | ratio | ratio (from RUNNING) |");
    System.out.println("|---|---|---|---|---|---|");
    for (int i = 0; i < results.size(); i += 2) {
      Result pass = results.get(i);
      Result pa = results.get(i + 1);
      System.out.printf(
          "| %d | %d | %.0f | %.0f | %.2f | %.2f |%n",
          pa.k(),
          pa.n(),
          pass.perSecond(),
          pa.perSecond(),
          pa.perSecond() / pass.perSecond(),
          pa.perSecondRunning() / pass.perSecondRunning());
    }
    System.exit(0);
  }

  private static void print(Result r) {
    System.out.printf(
        "K=%d %-15s %6d rankings in %6.2f s (%6.2f s from RUNNING): %8.0f rankings/s (%8.0f from RUNNING)%n",
        r.k(),
        r.topology(),
        r.n(),
        r.totalSeconds(),
        r.runningSeconds(),
        r.perSecond(),
        r.perSecondRunning());
  }

  private static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static Topology passThrough() {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(
            List.of(Topics.CHAT_TRANSCRIPTS.name(), Topics.FEEDBACK_RANKINGS.name()),
            Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
        .to(PASSTHROUGH_TOPIC, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
    return builder.build();
  }

  private static Result run(
      FlywheelInfra infra,
      String name,
      int k,
      int n,
      Map<TopicPartition, Long> start,
      Topology topologyOrNull)
      throws Exception {
    String appId = "bench-" + name + "-k" + k + "-" + System.nanoTime();
    PairAssemblerConfig config = new PairAssemblerConfig();
    config.setApplicationId(appId);
    config.setStateDir(infra.newTempDirectory("bench-state-").toString());
    config.setStreams(EXTRA);
    KafkaProperties kafka = new KafkaProperties();
    kafka.setBootstrapServers(infra.bootstrapServers());
    RegistryProperties registry = new RegistryProperties();
    registry.setUrl(infra.registryUrl());
    Properties props = StreamsSettings.properties(kafka, registry, config);
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    Topology topology =
        topologyOrNull != null
            ? topologyOrNull
            : new PairAssemblerTopology(
                    config,
                    props,
                    6,
                    PairAssemblerSerdes.forRegistry(
                        new HttpSchemaRegistryClient(infra.registryUrl())),
                    new PairAssemblerMetrics(meters))
                .build();
    Admin admin = infra.admin();
    // begin where this K's records begin (the inputs also hold earlier runs' records)
    admin
        .alterConsumerGroupOffsets(
            appId,
            start.entrySet().stream()
                .collect(
                    Collectors.toMap(Map.Entry::getKey, e -> new OffsetAndMetadata(e.getValue()))))
        .all()
        .get(30, TimeUnit.SECONDS);
    Map<TopicPartition, Long> end = endOffsets(admin, start.keySet());

    long[] runningAt = {0};
    try (KafkaStreams streams = new KafkaStreams(topology, props)) {
      streams.setStateListener(
          (now, before) -> {
            if (now == KafkaStreams.State.RUNNING && runningAt[0] == 0) {
              runningAt[0] = System.nanoTime();
            }
          });
      long t0 = System.nanoTime();
      streams.start();
      long deadline = t0 + RUN_TIMEOUT.toNanos();
      while (!caughtUp(admin, appId, end)) {
        if (System.nanoTime() > deadline || streams.state() == KafkaStreams.State.ERROR) {
          throw new IllegalStateException(name + " K=" + k + " did not finish: " + streams.state());
        }
        Thread.sleep(50);
      }
      long t1 = System.nanoTime();
      streams.close(Duration.ofSeconds(30));
      long running = runningAt[0] == 0 ? t0 : runningAt[0];
      if (topologyOrNull == null) {
        double groups = meters.counter("pair_assembler_groups_emitted").count();
        double dead =
            meters.find("pair_assembler_dead_letters").counters().stream()
                .mapToDouble(c -> c.count())
                .sum();
        if (groups != n || dead != 0) {
          throw new IllegalStateException(
              "expected " + n + " groups and no dead letter, got " + groups + " and " + dead);
        }
      }
      return new Result(name, k, n, (t1 - t0) / 1e9, (t1 - running) / 1e9);
    }
  }

  private static boolean caughtUp(Admin admin, String appId, Map<TopicPartition, Long> end)
      throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(appId)
            .partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS);
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      OffsetAndMetadata c = committed.get(e.getKey());
      if (c == null || c.offset() < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private static List<TopicPartition> inputPartitions(Admin admin) {
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic : List.of(Topics.CHAT_TRANSCRIPTS.name(), Topics.FEEDBACK_RANKINGS.name())) {
      for (int p = 0; p < 6; p++) {
        partitions.add(new TopicPartition(topic, p));
      }
    }
    return partitions;
  }

  private static Map<TopicPartition, Long> endOffsets(
      Admin admin, java.util.Collection<TopicPartition> partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> info =
        admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, Long> out = new HashMap<>();
    info.forEach((tp, i) -> out.put(tp, i.offset()));
    return out;
  }

  /**
   * N transcripts with K responses each (~300-char texts) and one strict or tied ranking of each.
   */
  private static void produce(FlywheelInfra infra, int k, int n) throws Exception {
    SchemaRegistryClient registry = new HttpSchemaRegistryClient(infra.registryUrl());
    AvroSerializer<ChatTranscript> transcripts = new AvroSerializer<>(registry, true);
    AvroSerializer<HumanRanking> rankings = new AvroSerializer<>(registry, true);
    Map<String, Object> props = infra.producerProps();
    props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    Random random = new Random(k);
    String filler = "lorem ipsum dolor sit amet ".repeat(12);
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < n; i++) {
        String transcriptId = "bench-k" + k + "-t" + i;
        String prompt = "prompt " + (i % (n / 3 + 1)) + " for K=" + k;
        List<CandidateResponse> responses = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int j = 0; j < k; j++) {
          ids.add("r" + j);
          responses.add(
              CandidateResponse.newBuilder()
                  .setResponseId("r" + j)
                  .setText("response " + j + " " + filler)
                  .setPolicyVersion((long) (j % 3))
                  .build());
        }
        ChatTranscript t =
            ChatTranscript.newBuilder()
                .setEventId("e-" + transcriptId)
                .setEventTime(Instant.now())
                .setTranscriptId(transcriptId)
                .setConversationId("c-" + i)
                .setAppId("bench")
                .setTurns(List.of(new Turn(Role.USER, prompt)))
                .setPrompt(prompt)
                .setResponses(responses)
                .build();
        java.util.Collections.shuffle(ids, random);
        List<RankTier> tiers = new ArrayList<>();
        for (int j = 0; j < k; j++) {
          if (j > 0 && random.nextInt(5) == 0) {
            tiers.get(tiers.size() - 1).getResponseIds().add(ids.get(j)); // a tie now and then
          } else {
            tiers.add(new RankTier(new ArrayList<>(List.of(ids.get(j)))));
          }
        }
        if (tiers.size() < 2) {
          tiers =
              List.of(
                  new RankTier(new ArrayList<>(ids.subList(0, 1))),
                  new RankTier(new ArrayList<>(ids.subList(1, k))));
        }
        HumanRanking r =
            HumanRanking.newBuilder()
                .setEventId("e-r-" + transcriptId)
                .setEventTime(Instant.now())
                .setRankingId("bench-k" + k + "-rank-" + i)
                .setTranscriptId(transcriptId)
                .setAppId("bench")
                .setTiers(tiers)
                .setAnnotatorId("ann-" + (i % 7))
                .build();
        producer.send(
            new ProducerRecord<>(
                Topics.CHAT_TRANSCRIPTS.name(),
                transcriptId,
                transcripts.serialize(Topics.CHAT_TRANSCRIPTS.name(), t)),
            BenchCallbacks.FAIL_FAST);
        producer.send(
            new ProducerRecord<>(
                Topics.FEEDBACK_RANKINGS.name(),
                transcriptId,
                rankings.serialize(Topics.FEEDBACK_RANKINGS.name(), r)),
            BenchCallbacks.FAIL_FAST);
      }
      producer.flush();
      BenchCallbacks.check();
    }
  }

  /** Send callbacks that remember the first failure. */
  static final class BenchCallbacks {
    private static volatile Exception failure;
    static final org.apache.kafka.clients.producer.Callback FAIL_FAST =
        (metadata, e) -> {
          if (e != null && failure == null) {
            failure = e;
          }
        };

    static void check() throws Exception {
      if (failure != null) {
        throw failure;
      }
    }
  }
}
