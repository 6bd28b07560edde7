package dev.flywheel.modelregistry;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.kit.auth.ApiKeys;
import dev.flywheel.modelregistry.artifacts.ArtifactsController;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A registry service on private topics of the shared test broker: publishes version and metric
 * events, starts/stops the Micronaut application, and talks to its HTTP API.
 */
public final class RegistryHarness implements AutoCloseable {

  public static final String OPERATOR_KEY = "fwk_test-operator-key";
  public static final String VIEWER_KEY = "fwk_test-viewer-key";

  /** A key with the artifact-download scope only. */
  public static final String READER_KEY = "fwk_test-artifact-reader-key";

  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");

  public final FlywheelInfra infra;
  public final String policyTopic;
  public final String rewardTopic;
  public final String controlTopic;
  public final String metricsTopic;
  public final Path artifactRoot;
  private final KafkaProducer<String, SpecificRecord> producer;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private EmbeddedServer server;

  public RegistryHarness(FlywheelInfra infra, Path artifactRoot) {
    this.infra = infra;
    this.artifactRoot = artifactRoot;
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    policyTopic = Topics.POLICY_VERSIONS.name() + "-" + suffix;
    rewardTopic = Topics.REWARD_VERSIONS.name() + "-" + suffix;
    controlTopic = Topics.MODEL_CONTROL.name() + "-" + suffix;
    metricsTopic = Topics.TRAINING_METRICS.name() + "-" + suffix;
    infra.createTopic(policyTopic, 1, Topics.POLICY_VERSIONS.topicConfigs());
    infra.createTopic(rewardTopic, 1, Topics.REWARD_VERSIONS.topicConfigs());
    infra.createTopic(controlTopic, 1, Topics.MODEL_CONTROL.topicConfigs());
    infra.createTopic(metricsTopic, 1, Topics.TRAINING_METRICS.topicConfigs());
    SchemaRegistryClient registry = new HttpSchemaRegistryClient(infra.registryUrl());
    producer =
        new KafkaProducer<>(
            infra.producerProps(), new StringSerializer(), new AvroSerializer<>(registry, true));
  }

  /** The configuration the service starts with. */
  public Map<String, Object> properties() {
    Map<String, Object> p = new HashMap<>();
    p.put("micronaut.server.port", -1);
    p.put("flywheel.kafka.bootstrap-servers", infra.bootstrapServers());
    p.put("flywheel.registry.url", infra.registryUrl());
    p.put("flywheel.model-registry.topics.policy-versions", policyTopic);
    p.put("flywheel.model-registry.topics.reward-versions", rewardTopic);
    p.put("flywheel.model-registry.topics.control", controlTopic);
    p.put("flywheel.model-registry.topics.metrics", metricsTopic);
    p.put("flywheel.model-registry.artifact-root", artifactRoot.toString());
    p.put("flywheel.auth.apps.ops.key-hashes", List.of(ApiKeys.sha256Hex(OPERATOR_KEY)));
    p.put("flywheel.auth.apps.ops.scopes", List.of("operator"));
    p.put("flywheel.auth.apps.viewer.key-hashes", List.of(ApiKeys.sha256Hex(VIEWER_KEY)));
    p.put("flywheel.auth.apps.viewer.scopes", List.of("read"));
    p.put("flywheel.auth.apps.reader.key-hashes", List.of(ApiKeys.sha256Hex(READER_KEY)));
    p.put("flywheel.auth.apps.reader.scopes", List.of(ArtifactsController.READ_SCOPE));
    return p;
  }

  /** Starts the service and waits until it has replayed its topics. */
  public RegistryHarness start() {
    return start(Map.of());
  }

  /** Starts the service with {@code overrides} on top of {@link #properties()}. */
  public RegistryHarness start(Map<String, Object> overrides) {
    Map<String, Object> p = properties();
    p.putAll(overrides);
    server = ApplicationContext.run(EmbeddedServer.class, p);
    awaitCaughtUp();
    return this;
  }

  public void stop() {
    if (server != null) {
      server.getApplicationContext().close();
      server = null;
    }
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getPort();
  }

  public EmbeddedServer server() {
    return server;
  }

  public void awaitCaughtUp() {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        JsonNode status = getJson("/api/status");
        if (status.path("caughtUp").asBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        // not up yet
      }
      sleep(100);
    }
    fail("registry did not catch up within 60 s");
  }

  /**
   * Polls {@code path} until {@code done} holds for its JSON (the materializer follows the topics).
   */
  public JsonNode awaitJson(String path, java.util.function.Predicate<JsonNode> done) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      last = getJson(path);
      if (done.test(last)) {
        return last;
      }
      sleep(100);
    }
    fail("condition on " + path + " not met within 30 s; last answer: " + last);
    return last;
  }

  // ---- HTTP
  // ---------------------------------------------------------------------------------------

  public HttpResponse<byte[]> get(String path) {
    return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).GET().build());
  }

  /** GET with {@code Authorization: Bearer <apiKey>}. */
  public HttpResponse<byte[]> get(String path, String apiKey) {
    return send(
        HttpRequest.newBuilder(URI.create(baseUrl() + path))
            .GET()
            .header("Authorization", "Bearer " + apiKey)
            .build());
  }

  public JsonNode getJson(String path) {
    HttpResponse<byte[]> r = get(path);
    assertTrue(
        r.statusCode() == 200,
        "GET " + path + " -> " + r.statusCode() + " " + new String(r.body()));
    return parse(r.body());
  }

  public HttpResponse<byte[]> post(String path, String apiKey, String jsonBody) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl() + path))
            .POST(
                jsonBody == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(jsonBody));
    if (jsonBody != null) {
      b.header("Content-Type", "application/json");
    }
    if (apiKey != null) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    return send(b.build());
  }

  public HttpResponse<byte[]> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public static JsonNode parse(byte[] body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  // ---- events
  // -------------------------------------------------------------------------------------

  public void publish(String topic, String key, SpecificRecord value) {
    try {
      producer.send(new ProducerRecord<>(topic, key, value)).get();
    } catch (Exception e) {
      throw new IllegalStateException("cannot publish to " + topic, e);
    }
  }

  public void publish(RewardModelVersion v) {
    publish(rewardTopic, Long.toString(v.getVersion()), v);
  }

  public void publish(PolicyVersion v) {
    publish(policyTopic, Long.toString(v.getVersion()), v);
  }

  public void publish(TrainingMetrics m) {
    publish(metricsTopic, m.getSource(), m);
  }

  public static OffsetRange range(int partition, long from, long until) {
    return new OffsetRange(Topics.TRAINING_COMPARISONS.name(), partition, from, until);
  }

  public static RewardModelVersion reward(
      long version,
      Long parent,
      ModelStatus status,
      int minute,
      double evalAccuracy,
      List<OffsetRange> data) {
    return RewardModelVersion.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(T0.plusSeconds(60L * minute))
        .setVersion(version)
        .setParentVersion(parent)
        .setStatus(status)
        .setCreatedAt(T0.plusSeconds(60L * version * 10))
        .setArtifactUri("file:///nonexistent/reward/v" + version)
        .setArtifactSha256("0".repeat(64))
        .setRewardOffset(0.25 * version)
        .setMetrics(Map.of("eval_accuracy", evalAccuracy, "loss", 0.6))
        .setHyperparameters(Map.of("lr", "1e-4", "epochs", "1"))
        .setTrainingData(data)
        .build();
  }

  public static PolicyVersion policy(
      long version,
      PolicyStage stage,
      List<Long> parents,
      Long rewardModel,
      ModelStatus status,
      int minute) {
    return PolicyVersion.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(T0.plusSeconds(60L * minute))
        .setVersion(version)
        .setStage(stage)
        .setParentVersions(parents)
        .setRewardModelVersion(rewardModel)
        .setStatus(status)
        .setCreatedAt(T0.plusSeconds(60L * version * 10 + 30))
        .setArtifactUri("file:///nonexistent/policy/v" + version)
        .setArtifactSha256("1".repeat(64))
        .setMetrics(Map.of("kl", 0.01 * version, "mean_reward", 0.1 * version))
        .setHyperparameters(Map.of("kl_coef", "0.02"))
        .setTrainingData(List.of(new OffsetRange("chat.transcripts", 0, 0L, 100L * version)))
        .build();
  }

  public static TrainingMetrics metric(
      String source,
      String phase,
      Long version,
      long round,
      long step,
      int second,
      Map<String, Double> values) {
    return TrainingMetrics.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(T0.plusSeconds(second))
        .setSource(source)
        .setPhase(phase)
        .setModelVersion(version)
        .setRound(round)
        .setStep(step)
        .setValues(values)
        .build();
  }

  /**
   * The standard history: RM v1 → RM v2 (each CANDIDATE then LIVE), SFT root policy v1 (LIVE), PPO
   * v2 (from v1 with RM v1; CANDIDATE → LIVE → ROLLED_BACK), PPO v3 (from v2 and the SFT reference
   * v1, with RM v2; CANDIDATE). Plus PPO, agreement, eval and pair metrics.
   */
  public void publishStandardHistory() {
    publish(reward(1, null, ModelStatus.CANDIDATE, 1, 0.62, List.of(range(0, 0, 120))));
    publish(reward(1, (Long) null, ModelStatus.LIVE, 2, 0.62, List.of(range(0, 0, 120))));
    publish(policy(1, PolicyStage.SFT, List.of(), null, ModelStatus.LIVE, 3));
    publish(policy(2, PolicyStage.PPO, List.of(1L), 1L, ModelStatus.CANDIDATE, 4));
    publish(
        reward(
            2, 1L, ModelStatus.CANDIDATE, 5, 0.68, List.of(range(0, 120, 300), range(1, 0, 80))));
    publish(policy(2, PolicyStage.PPO, List.of(1L), 1L, ModelStatus.LIVE, 6));
    publish(reward(2, 1L, ModelStatus.LIVE, 7, 0.68, List.of(range(0, 120, 300), range(1, 0, 80))));
    publish(policy(3, PolicyStage.PPO, List.of(2L, 1L), 2L, ModelStatus.CANDIDATE, 8));
    publish(policy(2, PolicyStage.PPO, List.of(1L), 1L, ModelStatus.ROLLED_BACK, 9));
    int s = 0;
    for (long round = 1; round <= 3; round++) {
      for (long step = 0; step < 2; step++) {
        publish(
            metric(
                "policy-trainer",
                "ppo",
                3L,
                round,
                step,
                s += 10,
                Map.of("mean_reward", 0.1 * round + 0.01 * step, "kl", 0.02 * round)));
      }
    }
    publish(metric("pair-assembler", "agreement", null, 0, 0, 15, Map.of("agreement_rate", 0.73)));
    publish(metric("pair-assembler", "agreement", null, 0, 0, 45, Map.of("agreement_rate", 0.72)));
    publish(metric("reward-trainer", "eval", 2L, 1, 0, 30, Map.of("eval_accuracy", 0.67)));
    // as the pair assembler publishes them: cumulative counts, and a rate from the second point on
    publish(metric("pair-assembler", "pairs", null, 0, 0, 20, Map.of("pairs_emitted", 10.0)));
    publish(
        metric(
            "pair-assembler",
            "pairs",
            null,
            0,
            0,
            30,
            Map.of("pairs_emitted", 50.0, "pairs_per_s", 4.0)));
    publish(metric("pair-assembler", "pairs", null, 0, 0, 40, Map.of("pairs_emitted", 115.0)));
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    stop();
    producer.close(Duration.ofSeconds(5));
  }
}
