package dev.flywheel.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.ControlAction;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.Role;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.events.Turn;
import dev.flywheel.kit.auth.ApiKeys;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every command, run in-process through picocli against a running registry service and the real
 * broker.
 */
@ExtendWith(FlywheelInfraExtension.class)
class CliTest {

  static final String OPERATOR_KEY = "fwk_cli-test-operator";
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");

  static FlywheelInfra infra;
  static EmbeddedServer server;
  static KafkaProducer<String, SpecificRecord> producer;
  static String suffix = UUID.randomUUID().toString().substring(0, 8);
  static String policyTopic = Topics.POLICY_VERSIONS.name() + "-" + suffix;
  static String rewardTopic = Topics.REWARD_VERSIONS.name() + "-" + suffix;
  static String controlTopic = Topics.MODEL_CONTROL.name() + "-" + suffix;
  static String metricsTopic = Topics.TRAINING_METRICS.name() + "-" + suffix;
  static String comparisonsTopic = Topics.TRAINING_COMPARISONS.name() + "-" + suffix;

  record Run(int exit, String out, String err) {
    List<String> lines() {
      return out.lines().filter(l -> !l.isBlank()).toList();
    }
  }

  @BeforeAll
  static void start(FlywheelInfra shared, @TempDir Path artifacts) throws Exception {
    infra = shared;
    infra.createTopic(policyTopic, 1, Topics.POLICY_VERSIONS.topicConfigs());
    infra.createTopic(rewardTopic, 1, Topics.REWARD_VERSIONS.topicConfigs());
    infra.createTopic(controlTopic, 1, Topics.MODEL_CONTROL.topicConfigs());
    infra.createTopic(metricsTopic, 1, Topics.TRAINING_METRICS.topicConfigs());
    infra.createTopic(comparisonsTopic, 3, Topics.TRAINING_COMPARISONS.topicConfigs());
    producer =
        new KafkaProducer<>(
            infra.producerProps(),
            new StringSerializer(),
            new AvroSerializer<>(new HttpSchemaRegistryClient(infra.registryUrl()), true));

    publish(rewardTopic, "1", reward(1, null, List.of(range(0, 0, 120))));
    publish(rewardTopic, "2", reward(2, 1L, List.of(range(0, 120, 300), range(1, 0, 80))));
    publish(policyTopic, "1", policy(1, PolicyStage.SFT, List.of(), null, ModelStatus.LIVE));
    publish(policyTopic, "2", policy(2, PolicyStage.PPO, List.of(1L), 1L, ModelStatus.ROLLED_BACK));
    publish(
        policyTopic, "3", policy(3, PolicyStage.PPO, List.of(2L, 1L), 2L, ModelStatus.CANDIDATE));

    Map<String, Object> props = new HashMap<>();
    props.put("micronaut.server.port", -1);
    props.put("flywheel.kafka.bootstrap-servers", infra.bootstrapServers());
    props.put("flywheel.registry.url", infra.registryUrl());
    props.put("flywheel.model-registry.topics.policy-versions", policyTopic);
    props.put("flywheel.model-registry.topics.reward-versions", rewardTopic);
    props.put("flywheel.model-registry.topics.control", controlTopic);
    props.put("flywheel.model-registry.topics.metrics", metricsTopic);
    props.put("flywheel.model-registry.artifact-root", artifacts.toString());
    props.put("flywheel.auth.apps.ops.key-hashes", List.of(ApiKeys.sha256Hex(OPERATOR_KEY)));
    props.put("flywheel.auth.apps.ops.scopes", List.of("operator"));
    server = ApplicationContext.run(EmbeddedServer.class, props);
    awaitRegistryCaughtUp();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.getApplicationContext().close();
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
  }

  static void awaitRegistryCaughtUp() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(registryUrl() + "/api/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && JSON.readTree(r.body()).path("caughtUp").asBoolean()) {
          return;
        }
      } catch (java.io.IOException e) {
        // starting
      }
      Thread.sleep(100);
    }
    throw new AssertionError("registry did not catch up");
  }

  static String registryUrl() {
    return "http://127.0.0.1:" + server.getPort();
  }

  static void publish(String topic, String key, SpecificRecord value) throws Exception {
    producer.send(new ProducerRecord<>(topic, key, value)).get();
  }

  /** Runs {@code flywheel <args>} in-process with the connection options before the subcommand. */
  static Run flywheel(String... args) {
    List<String> all =
        new ArrayList<>(
            List.of(
                "--model-registry-url",
                registryUrl(),
                "--bootstrap-servers",
                infra.bootstrapServers(),
                "--schema-registry-url",
                infra.registryUrl()));
    all.addAll(List.of(args));
    return run(Map.of(), all.toArray(String[]::new));
  }

  static Run run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cmd = FlywheelCli.commandLine(new FlywheelCli(env));
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    int exit = cmd.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  static OffsetRange range(int partition, long from, long until) {
    return new OffsetRange(Topics.TRAINING_COMPARISONS.name(), partition, from, until);
  }

  static RewardModelVersion reward(long version, Long parent, List<OffsetRange> data) {
    return RewardModelVersion.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(T0)
        .setVersion(version)
        .setParentVersion(parent)
        .setStatus(ModelStatus.LIVE)
        .setCreatedAt(T0)
        .setArtifactUri("file:///models/reward/v" + version)
        .setArtifactSha256("a".repeat(64))
        .setMetrics(Map.of("eval_accuracy", 0.6 + 0.05 * version))
        .setTrainingData(data)
        .build();
  }

  static PolicyVersion policy(
      long version, PolicyStage stage, List<Long> parents, Long rm, ModelStatus status) {
    return PolicyVersion.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(T0)
        .setVersion(version)
        .setStage(stage)
        .setParentVersions(parents)
        .setRewardModelVersion(rm)
        .setStatus(status)
        .setCreatedAt(T0.plusSeconds(version * 60))
        .setArtifactUri("file:///models/policy/v" + version)
        .setArtifactSha256("b".repeat(64))
        .setMetrics(Map.of("mean_reward", 0.1 * version))
        .setTrainingData(List.of())
        .build();
  }

  // ---- versions, lineage
  // ----------------------------------------------------------------------------

  @Test
  void versionsPrintsATablePerKind() {
    Run policies = flywheel("versions", "--kind", "policy");
    assertEquals(0, policies.exit(), policies.err());
    List<String> lines = policies.lines();
    assertTrue(
        lines.get(0).startsWith("VERSION") && lines.get(0).contains("STATUS"), policies.out());
    assertEquals(4, lines.size(), policies.out());
    assertTrue(lines.get(1).matches("v1\\s+LIVE\\s+SFT.*"), lines.get(1));
    assertTrue(lines.get(2).matches("v2\\s+ROLLED_BACK\\s+PPO\\s+v1\\s+v1\\s.*"), lines.get(2));
    assertTrue(
        lines
            .get(3)
            .matches("v3\\s+CANDIDATE\\s+PPO\\s+v2,v1\\s+v2\\s.*mean_reward=0\\.3.*bbbbbbbbbbbb"),
        lines.get(3));

    Run both = flywheel("versions");
    assertEquals(0, both.exit(), both.err());
    assertTrue(
        both.out().contains("Policy versions") && both.out().contains("Reward model versions"));
    assertTrue(
        both.out().lines().anyMatch(l -> l.matches("v2\\s+LIVE\\s+v1\\s+260 groups\\s.*")),
        both.out());

    // global options also work after the subcommand, and fall back to the environment
    Run after =
        run(Map.of(), "versions", "--kind", "reward", "--model-registry-url", registryUrl());
    assertEquals(0, after.exit(), after.err());
    assertEquals(3, after.lines().size(), after.out());
    Run fromEnv =
        run(
            Map.of("FLYWHEEL_MODEL_REGISTRY_URL", registryUrl()),
            "versions",
            "--kind",
            "reward",
            "--json");
    assertEquals(0, fromEnv.exit(), fromEnv.err());
    assertEquals(2, fromEnv.lines().size() == 1 ? parse(fromEnv.out()).path("count").asInt() : -1);
  }

  @Test
  void lineageWalksToTheRewardModelsAndTheSftRoot() {
    Run r = flywheel("lineage", "3");
    assertEquals(0, r.exit(), r.err());
    String out = r.out();
    assertTrue(out.startsWith("policy v3  PPO  CANDIDATE"), out);
    int rm2 = out.indexOf("reward model v2");
    int rm1 = out.indexOf("reward model v1");
    assertTrue(rm2 > 0 && rm1 > rm2, out);
    assertTrue(
        out.contains("training.comparisons[0] 120..300 (180), training.comparisons[1] 0..80 (80)"),
        out);
    assertTrue(out.contains("training.comparisons[0] 0..120 (120)"), out);
    assertTrue(out.contains("v1  SFT  LIVE  (SFT root)"), out);
    assertTrue(out.contains("SFT root(s): v1"), out);

    Run missing = flywheel("lineage", "99");
    assertEquals(1, missing.exit());
    assertTrue(missing.err().contains("HTTP 404"), missing.err());
  }

  // ---- promote, rollback
  // ----------------------------------------------------------------------------

  static List<ModelControl> controlEvents() {
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("cli-control"));
    try (KafkaConsumer<String, ModelControl> consumer =
        new KafkaConsumer<>(
            props,
            new StringDeserializer(),
            new AvroDeserializer<>(
                new HttpSchemaRegistryClient(infra.registryUrl()), ModelControl.class))) {
      TopicPartition tp = new TopicPartition(controlTopic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      List<ModelControl> out = new ArrayList<>();
      while (consumer.position(tp) < end) {
        for (ConsumerRecord<String, ModelControl> r : consumer.poll(Duration.ofMillis(200))) {
          out.add(r.value());
        }
      }
      return out;
    }
  }

  @Test
  void promoteAndRollbackGoThroughTheRegistry() {
    Run unauthenticated = flywheel("promote", "3");
    assertEquals(2, unauthenticated.exit());
    assertTrue(unauthenticated.err().contains("FLYWHEEL_API_KEY"), unauthenticated.err());
    Run wrongKey = flywheel("promote", "3", "--api-key", "fwk_wrong");
    assertEquals(1, wrongKey.exit());
    assertTrue(wrongKey.err().contains("HTTP 401"), wrongKey.err());
    int before = controlEvents().size();

    Run promote = flywheel("promote", "3", "--api-key", OPERATOR_KEY, "--reason", "wins 58% vs v1");
    assertEquals(0, promote.exit(), promote.err());
    assertTrue(
        promote.out().startsWith("PROMOTE policy v3 recorded on " + controlTopic), promote.out());
    Run rollback =
        run(
            Map.of("FLYWHEEL_API_KEY", OPERATOR_KEY),
            "--model-registry-url",
            registryUrl(),
            "rollback",
            "1",
            "--kind",
            "reward",
            "--reason",
            "calibration drift");
    assertEquals(0, rollback.exit(), rollback.err());

    List<ModelControl> events = controlEvents();
    assertEquals(before + 2, events.size());
    ModelControl p = events.get(events.size() - 2);
    assertEquals(ControlAction.PROMOTE, p.getAction());
    assertEquals(3L, p.getVersion());
    assertEquals("ops", p.getRequestedBy());
    assertEquals("wins 58% vs v1", p.getReason());
    ModelControl r = events.get(events.size() - 1);
    assertEquals(ControlAction.ROLLBACK, r.getAction());
    assertEquals(dev.flywheel.events.ModelKind.REWARD, r.getModelKind());
    assertEquals(1L, r.getVersion());
  }

  // ---- tail
  // -----------------------------------------------------------------------------------------

  @Test
  void tailPrintsDecodedJsonLines() throws Exception {
    for (int i = 0; i < 3; i++) {
      publish(
          metricsTopic,
          "policy-trainer",
          TrainingMetrics.newBuilder()
              .setEventId("m" + i)
              .setEventTime(T0.plusSeconds(i))
              .setSource("policy-trainer")
              .setPhase("ppo")
              .setModelVersion(3L)
              .setRound(i)
              .setStep(0)
              .setValues(Map.of("kl", 0.01 * i))
              .build());
    }
    Run r = flywheel("tail", metricsTopic, "--from-beginning", "--max", "2");
    assertEquals(0, r.exit(), r.err());
    List<String> lines = r.lines();
    assertEquals(2, lines.size(), r.out());
    JsonNode first = parse(lines.get(0));
    assertEquals("m0", first.path("eventId").asText());
    assertEquals("2025-03-01T10:00:00Z", first.path("eventTime").asText());
    assertEquals(3, first.path("modelVersion").asLong(), "unions are plain values");
    assertEquals("ppo", first.path("phase").asText());
    assertEquals(0.01, parse(lines.get(1)).path("values").path("kl").asDouble(), 1e-12);

    Run wrapped = flywheel("tail", metricsTopic, "--from-beginning", "--until-end", "--metadata");
    assertEquals(0, wrapped.exit(), wrapped.err());
    assertEquals(3, wrapped.lines().size());
    JsonNode third = parse(wrapped.lines().get(2));
    assertEquals(2, third.path("offset").asLong());
    assertEquals("policy-trainer", third.path("key").asText());
    assertEquals("m2", third.path("value").path("eventId").asText());

    // Kafka and the schema registry from the environment, under the names the services read
    Run fromEnv =
        run(
            Map.of(
                "FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS",
                infra.bootstrapServers(),
                "FLYWHEEL_REGISTRY_URL",
                infra.registryUrl()),
            "tail",
            metricsTopic,
            "--from-beginning",
            "--max",
            "1");
    assertEquals(0, fromEnv.exit(), fromEnv.err());
    assertEquals("m0", parse(fromEnv.lines().get(0)).path("eventId").asText());

    Run unknown = flywheel("tail", "no.such.topic", "--max", "1");
    assertEquals(1, unknown.exit());
    assertTrue(unknown.err().contains("no topic 'no.such.topic'"), unknown.err());
  }

  // ---- export-pairs
  // ---------------------------------------------------------------------------------

  static RankedResponse response(String id, int tier) {
    return new RankedResponse(id, "answer " + id, tier, 3L);
  }

  static ComparisonPair pair(String chosen, String rejected) {
    return new ComparisonPair(chosen, rejected);
  }

  static ComparisonGroup group(
      String id,
      DataSplit split,
      List<Turn> turns,
      String prompt,
      List<RankedResponse> responses,
      List<ComparisonPair> pairs) {
    return ComparisonGroup.newBuilder()
        .setEventId("e-" + id)
        .setEventTime(T0)
        .setGroupId(id)
        .setRankingId(id)
        .setTranscriptId("t-" + id)
        .setPromptKey("pk-" + id)
        .setTurns(turns)
        .setPrompt(prompt)
        .setResponses(responses)
        .setPairs(pairs)
        .setPairWeight(pairs.isEmpty() ? 0.0 : 1.0 / pairs.size())
        .setAnnotatorIds(List.of("labeler-1"))
        .setSplit(split)
        .setSourceOffsets(List.of())
        .build();
  }

  static List<JsonNode> readJsonl(Path file) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      out.add(parse(line));
    }
    return out;
  }

  @Test
  void exportPairsWritesTrlAndOpenRlhfJsonl(@TempDir Path dir) throws Exception {
    Turn user = new Turn(Role.USER, "What is 2+3?");
    // K=3, strict order: 3 pairs
    publish(
        comparisonsTopic,
        "pk-a",
        group(
            "a",
            DataSplit.TRAIN,
            List.of(user),
            "What is 2+3?",
            List.of(response("a0", 0), response("a1", 1), response("a2", 2)),
            List.of(pair("a0", "a1"), pair("a0", "a2"), pair("a1", "a2"))));
    // K=4 with b0 and b1 tied: 5 pairs; a tied pair slipped into the list must not be exported
    publish(
        comparisonsTopic,
        "pk-b",
        group(
            "b",
            DataSplit.TRAIN,
            List.of(
                new Turn(Role.SYSTEM, "Be polite."),
                new Turn(Role.USER, "Hi"),
                new Turn(Role.ASSISTANT, "Hello!"),
                new Turn(Role.USER, "Tell me a joke")),
            "Tell me a joke",
            List.of(response("b0", 0), response("b1", 0), response("b2", 1), response("b3", 2)),
            List.of(
                pair("b0", "b2"),
                pair("b0", "b3"),
                pair("b1", "b2"),
                pair("b1", "b3"),
                pair("b2", "b3"),
                pair("b0", "b1"))));
    // everything tied: no pairs
    publish(
        comparisonsTopic,
        "pk-c",
        group(
            "c",
            DataSplit.TRAIN,
            List.of(new Turn(Role.USER, "Tie?")),
            "Tie?",
            List.of(response("c0", 0), response("c1", 0)),
            List.of()));
    // eval split, written by policy version 3
    ComparisonGroup d =
        group(
            "d",
            DataSplit.EVAL,
            List.of(new Turn(Role.USER, "Capital of France?")),
            "Capital of France?",
            List.of(response("d0", 0), response("d1", 1)),
            List.of(pair("d0", "d1")));
    d.setPolicyVersions(List.of(3L));
    publish(comparisonsTopic, "pk-d", d);

    Path trl = dir.resolve("trl-train.jsonl");
    Run r =
        flywheel(
            "export-pairs",
            "--topic",
            comparisonsTopic,
            "--format",
            "trl",
            "--split",
            "train",
            "--out",
            trl.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.err().contains("wrote 8 trl pairs from 2 of 4 groups (split train)"), r.err());
    assertTrue(r.err().contains("dropped 1 tied or inconsistent pair"), r.err());
    assertTrue(r.out().isEmpty(), "stdout stays clean: " + r.out());
    List<JsonNode> lines = readJsonl(trl);
    assertEquals(8, lines.size());
    for (JsonNode l : lines) {
      assertEquals(List.of("prompt", "chosen", "rejected"), fieldNames(l));
      assertTrue(
          l.path("prompt").isTextual()
              && l.path("chosen").isTextual()
              && l.path("rejected").isTextual());
      assertFalse(
          l.path("chosen").asText().equals("answer b0")
              && l.path("rejected").asText().equals("answer b1"),
          "a tie produced a pair");
    }
    List<JsonNode> groupA =
        lines.stream().filter(l -> l.path("prompt").asText().equals("What is 2+3?")).toList();
    assertEquals(3, groupA.size(), "a group of K=3 gives 3 lines");
    assertEquals(
        List.of("answer a0>answer a1", "answer a0>answer a2", "answer a1>answer a2"),
        groupA.stream()
            .map(l -> l.path("chosen").asText() + ">" + l.path("rejected").asText())
            .toList());
    assertEquals(
        5, lines.stream().filter(l -> l.path("prompt").asText().equals("Tell me a joke")).count());

    Path open = dir.resolve("openrlhf.jsonl");
    Run o =
        flywheel(
            "export-pairs",
            "--topic",
            comparisonsTopic,
            "--format",
            "openrlhf",
            "--out",
            open.toString());
    assertEquals(0, o.exit(), o.err());
    List<JsonNode> all = readJsonl(open);
    assertEquals(9, all.size(), "all splits: 3 + 5 + 0 + 1");
    JsonNode joke =
        all.stream().filter(l -> l.path("prompt").size() == 4).findFirst().orElseThrow();
    assertEquals(List.of("prompt", "chosen", "rejected"), fieldNames(joke));
    assertEquals("system", joke.path("prompt").get(0).path("role").asText());
    assertEquals("Be polite.", joke.path("prompt").get(0).path("content").asText());
    assertEquals("assistant", joke.path("prompt").get(2).path("role").asText());
    assertEquals("user", joke.path("prompt").get(3).path("role").asText());
    assertEquals("Tell me a joke", joke.path("prompt").get(3).path("content").asText());
    assertEquals(1, joke.path("chosen").size());
    assertEquals("assistant", joke.path("chosen").get(0).path("role").asText());
    assertTrue(joke.path("chosen").get(0).path("content").asText().startsWith("answer b"));
    assertEquals("assistant", joke.path("rejected").get(0).path("role").asText());
    JsonNode france =
        all.stream()
            .filter(
                l -> l.path("prompt").get(0).path("content").asText().equals("Capital of France?"))
            .findFirst()
            .orElseThrow();
    assertEquals("answer d0", france.path("chosen").get(0).path("content").asText());
    assertEquals("answer d1", france.path("rejected").get(0).path("content").asText());

    Path eval = dir.resolve("eval.jsonl");
    Run e =
        flywheel(
            "export-pairs",
            "--topic",
            comparisonsTopic,
            "--format",
            "trl",
            "--split",
            "eval",
            "--chat",
            "--include-metadata",
            "--out",
            eval.toString());
    assertEquals(0, e.exit(), e.err());
    List<JsonNode> evalLines = readJsonl(eval);
    assertEquals(1, evalLines.size());
    assertEquals("d", evalLines.get(0).path("group_id").asText());
    assertEquals("eval", evalLines.get(0).path("split").asText());
    assertEquals(T0.toString(), evalLines.get(0).path("event_time").asText());
    assertEquals("[3]", evalLines.get(0).path("policy_versions").toString());
    assertEquals("user", evalLines.get(0).path("prompt").get(0).path("role").asText());

    Run again =
        flywheel(
            "export-pairs",
            "--topic",
            comparisonsTopic,
            "--format",
            "trl",
            "--split",
            "train",
            "--out",
            dir.resolve("again.jsonl").toString());
    assertEquals(0, again.exit());
    assertEquals(
        Files.readString(trl),
        Files.readString(dir.resolve("again.jsonl")),
        "exports are reproducible");

    assertEquals(
        2,
        flywheel(
                "export-pairs",
                "--format",
                "trl",
                "--split",
                "test",
                "--out",
                dir.resolve("x.jsonl").toString())
            .exit());
    assertEquals(
        2,
        flywheel("export-pairs", "--format", "csv", "--out", dir.resolve("x.jsonl").toString())
            .exit());
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + json, e);
    }
  }
}
