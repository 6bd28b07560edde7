package dev.flywheel.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.events.ControlAction;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.kit.auth.ApiKeys;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.serving.versions.ModelManager;
import dev.flywheel.testing.FlywheelInfra;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A serving instance on a random loopback port against the shared test broker and registry, with
 * its own topics (so that test classes do not see each other's versions) and artifact root. Apps:
 * {@code shop} (scope chat:write) and {@code reader} (no scope).
 */
public final class TestServing implements AutoCloseable {

  public static final ObjectMapper JSON = new ObjectMapper();
  public static final String KEY = ApiKeys.generate();
  public static final String READER_KEY = ApiKeys.generate();

  public final FlywheelInfra infra;
  public final String versionsTopic;
  public final String controlTopic;
  public final String transcriptsTopic;
  public final String deadLettersTopic;
  public final Path artifacts;
  private final Map<String, Object> overrides;
  private final Map<String, String> shas = new ConcurrentHashMap<>();
  private final KafkaProducer<String, SpecificRecord> producer;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  public ApplicationContext context;
  public URI base;

  public TestServing(FlywheelInfra infra, Map<String, Object> overrides) {
    this.infra = infra;
    this.overrides = overrides;
    this.versionsTopic = infra.uniqueName("versions");
    this.controlTopic = infra.uniqueName("control");
    this.transcriptsTopic = infra.uniqueName("transcripts");
    this.deadLettersTopic = infra.uniqueName("dead-letters");
    infra.createTopic(versionsTopic, 1, Map.of("cleanup.policy", "compact"));
    infra.createTopic(controlTopic, 1);
    infra.createTopic(transcriptsTopic, 3);
    infra.createTopic(deadLettersTopic, 1);
    this.artifacts = infra.newTempDirectory("serving-artifacts");
    SchemaRegistryClient registry = new HttpSchemaRegistryClient(infra.registryUrl());
    this.producer =
        new KafkaProducer<>(
            infra.producerProps(), new StringSerializer(), new AvroSerializer<>(registry, true));
    start();
  }

  public void start() {
    Map<String, Object> props = new HashMap<>();
    props.put("micronaut.server.port", -1);
    props.put("micronaut.server.host", "127.0.0.1");
    props.put("flywheel.kafka.bootstrap-servers", infra.bootstrapServers());
    props.put("flywheel.registry.url", infra.registryUrl());
    props.put("flywheel.auth.apps.shop.key-hashes", List.of(ApiKeys.sha256Hex(KEY)));
    props.put("flywheel.auth.apps.shop.scopes", List.of("chat:write"));
    props.put("flywheel.auth.apps.reader.key-hashes", List.of(ApiKeys.sha256Hex(READER_KEY)));
    props.put("flywheel.auth.apps.reader.scopes", List.of());
    props.put("flywheel.serving.policy-versions-topic", versionsTopic);
    props.put("flywheel.serving.control-topic", controlTopic);
    props.put("flywheel.serving.transcripts-topic", transcriptsTopic);
    props.put("flywheel.serving.dead-letters-topic", deadLettersTopic);
    props.put("flywheel.serving.artifact-root", artifacts.toString());
    props.put("flywheel.serving.device", "cpu");
    props.put("flywheel.serving.canary-share", 0.0);
    props.putAll(overrides);
    context = ApplicationContext.run(props, "test");
    EmbeddedServer server = context.getBean(EmbeddedServer.class).start();
    base = URI.create("http://127.0.0.1:" + server.getPort());
  }

  public void stop() {
    if (context != null) {
      context.close();
      context = null;
    }
  }

  public ModelManager manager() {
    return context.getBean(ModelManager.class);
  }

  // ------------------------------------------------------------------------------------------
  // versions

  /**
   * Saves a tiny policy artifact named {@code name} (initialised from {@code seed}); returns its
   * file: URI.
   */
  public String artifact(String name, int seed) {
    Path dir = artifacts.resolve(name);
    shas.put(name, TestModels.save(dir, seed));
    return dir.toUri().toString();
  }

  public Path artifactDir(String name) {
    return artifacts.resolve(name);
  }

  public String sha(String name) {
    return shas.get(name);
  }

  public void publishVersion(long version, ModelStatus status, String artifactName) {
    publishVersion(
        version, status, artifactDir(artifactName).toUri().toString(), sha(artifactName));
  }

  public void publishVersion(long version, ModelStatus status, String uri, String sha) {
    send(versionsTopic, Long.toString(version), versionRecord(version, status, uri, sha));
  }

  /**
   * A PPO {@link PolicyVersion} record (for tests that send it themselves, e.g. in a transaction).
   */
  public PolicyVersion versionRecord(long version, ModelStatus status, String uri, String sha) {
    return PolicyVersion.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(Instant.now())
        .setVersion(version)
        .setStage(PolicyStage.PPO)
        .setParentVersions(List.of())
        .setStatus(status)
        .setCreatedAt(Instant.now())
        .setArtifactUri(uri)
        .setArtifactSha256(sha)
        .setMetrics(Map.of())
        .setTrainingData(List.of())
        .build();
  }

  public void publishControl(ControlAction action, long version) {
    ModelControl control =
        ModelControl.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setEventTime(Instant.now())
            .setModelKind(ModelKind.POLICY)
            .setAction(action)
            .setVersion(version)
            .setRequestedBy("test")
            .setReason("test")
            .build();
    send(controlTopic, "POLICY", control);
  }

  private void send(String topic, String key, SpecificRecord value) {
    try {
      producer.send(new ProducerRecord<>(topic, key, value)).get();
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  /** Waits until the live alias answers with {@code version}. */
  public void awaitLive(long version, Duration timeout) {
    await(
        () -> manager().routing().live() != null && manager().routing().live().version() == version,
        timeout,
        "policy-v" + version + " to become live; routing: " + manager().routing().live());
  }

  public static Thread startThread(Runnable body) {
    Thread t = new Thread(body);
    t.setDaemon(true);
    t.start();
    return t;
  }

  public static void await(BooleanSupplier condition, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  // ------------------------------------------------------------------------------------------ HTTP

  /** A response with its JSON body parsed (null if not JSON). */
  public record Reply(int status, Map<String, List<String>> headers, String text, JsonNode json) {
    public String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0))
          .findFirst()
          .orElse(null);
    }

    /** The OpenAI error object, or null. */
    public JsonNode error() {
      return json == null ? null : json.get("error");
    }

    @Override
    public String toString() {
      return status + " " + text;
    }
  }

  public static Map<String, Object> chat(String model, String user, Object... extra) {
    Map<String, Object> body = new HashMap<>();
    body.put("model", model);
    body.put("messages", List.of(Map.of("role", "user", "content", user)));
    for (int i = 0; i < extra.length; i += 2) {
      body.put((String) extra[i], extra[i + 1]);
    }
    return body;
  }

  public Reply post(String path, String key, Object body, String... headers) {
    try {
      String text = body instanceof String s ? s : JSON.writeValueAsString(body);
      HttpRequest.Builder b =
          HttpRequest.newBuilder(base.resolve(path))
              .timeout(Duration.ofSeconds(60))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(text));
      if (key != null) {
        b.header("Authorization", "Bearer " + key);
      }
      for (int i = 0; i < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      return send(b.build());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** As {@link #post} with the body as raw bytes (e.g. bytes that are not valid UTF-8). */
  public Reply postBytes(String path, String key, byte[] body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(base.resolve(path))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return send(b.build());
  }

  public Reply completion(Object body) {
    return post("/v1/chat/completions", KEY, body);
  }

  public Reply get(String path, String key) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).GET();
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return send(b.build());
  }

  private Reply send(HttpRequest request) {
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      JsonNode json = null;
      try {
        json = r.body().isEmpty() ? null : JSON.readTree(r.body());
      } catch (IOException notJson) {
        // leave null
      }
      return new Reply(r.statusCode(), r.headers().map(), r.body(), json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeException(e);
    }
  }

  /** A streamed completion: status, headers and the {@code data:} payloads in order. */
  public record Stream(
      int status, Map<String, List<String>> headers, List<String> data, String raw) {
    public String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0))
          .findFirst()
          .orElse(null);
    }

    /** Every data payload but [DONE], parsed. */
    public List<JsonNode> chunks() {
      return data.stream()
          .filter(d -> !d.equals("[DONE]"))
          .map(
              d -> {
                try {
                  return JSON.readTree(d);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              })
          .toList();
    }

    /** Concatenated content deltas of candidate {@code index}. */
    public String content(int index) {
      StringBuilder text = new StringBuilder();
      for (JsonNode chunk : chunks()) {
        for (JsonNode choice : chunk.path("choices")) {
          if (choice.get("index").asInt() == index && choice.path("delta").has("content")) {
            text.append(choice.path("delta").get("content").asText());
          }
        }
      }
      return text.toString();
    }
  }

  public Stream stream(Object body) {
    return stream(body, "text/event-stream");
  }

  /**
   * As {@link #stream(Object)} with the given Accept header (OpenAI's Python SDK sends
   * application/json).
   */
  public Stream stream(Object body, String accept) {
    try {
      HttpRequest request =
          HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
              .timeout(Duration.ofSeconds(60))
              .header("Content-Type", "application/json")
              .header("Authorization", "Bearer " + KEY)
              .header("Accept", accept)
              .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
              .build();
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      List<String> data = new ArrayList<>();
      for (String line : r.body().split("\n")) {
        if (line.startsWith("data:")) {
          data.add(line.substring(5).strip());
        }
      }
      return new Stream(r.statusCode(), r.headers().map(), data, r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeException(e);
    }
  }

  // ------------------------------------------------------------------------------------------
  // topics

  /** Every record now on {@code topic}, from the beginning up to the current end. */
  public <V> List<ConsumerRecord<String, V>> readAll(String topic, Class<V> type) {
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("serving-test-reader"));
    AvroDeserializer<V> values =
        new AvroDeserializer<>(new HttpSchemaRegistryClient(infra.registryUrl()), type);
    try (KafkaConsumer<String, V> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), values)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(20)).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(20));
      List<ConsumerRecord<String, V>> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("timed out reading " + topic);
        }
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  public <V> Map<String, V> byKey(String topic, Class<V> type) {
    return readAll(topic, type).stream()
        .collect(Collectors.toMap(ConsumerRecord::key, ConsumerRecord::value, (a, b) -> b));
  }

  @Override
  public void close() {
    stop();
    producer.close(Duration.ofSeconds(5));
  }
}
