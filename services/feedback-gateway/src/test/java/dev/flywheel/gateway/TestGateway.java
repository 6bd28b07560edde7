package dev.flywheel.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.kit.auth.ApiKeys;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.testing.FlywheelInfra;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A gateway on a random loopback port against the shared test broker and registry, with three apps:
 * {@code shop} (every scope), {@code ranker} (rankings only) and {@code reader} (no scope).
 */
public final class TestGateway implements AutoCloseable {

  public static final ObjectMapper JSON = new ObjectMapper();
  public static final String SHOP_KEY = ApiKeys.generate();
  public static final String RANKER_KEY = ApiKeys.generate();
  public static final String READER_KEY = ApiKeys.generate();

  public final FlywheelInfra infra;
  public final ApplicationContext context;
  public final EmbeddedServer server;
  public final URI base;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  public TestGateway(FlywheelInfra infra, Map<String, Object> overrides) {
    this.infra = infra;
    Map<String, Object> props = new HashMap<>();
    props.put("micronaut.server.port", -1);
    props.put("micronaut.server.host", "127.0.0.1");
    props.put("flywheel.kafka.bootstrap-servers", infra.bootstrapServers());
    props.put("flywheel.registry.url", infra.registryUrl());
    props.put("flywheel.auth.apps.shop.key-hashes", List.of(ApiKeys.sha256Hex(SHOP_KEY)));
    props.put("flywheel.auth.apps.shop.scopes", List.of("*"));
    props.put(
        "flywheel.auth.apps.ranker.key-hashes",
        List.of("sha256:" + ApiKeys.sha256Hex(RANKER_KEY).toUpperCase()));
    props.put("flywheel.auth.apps.ranker.scopes", List.of("rankings:write"));
    props.put("flywheel.auth.apps.reader.key-hashes", List.of(ApiKeys.sha256Hex(READER_KEY)));
    props.put("flywheel.auth.apps.reader.scopes", List.of());
    props.putAll(overrides);
    this.context = ApplicationContext.run(props, "test");
    this.server = context.getBean(EmbeddedServer.class).start();
    this.base = URI.create("http://127.0.0.1:" + server.getPort());
  }

  public TestGateway(FlywheelInfra infra) {
    this(infra, Map.of());
  }

  /** A response with its JSON body parsed (null if not JSON). */
  public record Reply(int status, Map<String, List<String>> headers, String text, JsonNode json) {
    public String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0))
          .findFirst()
          .orElse(null);
    }

    @Override
    public String toString() {
      return status + " " + text;
    }
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
      throw new RuntimeException(e);
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

  public Reply get(String path) {
    return send(
        HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).GET().build());
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
      throw new RuntimeException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeException(e);
    }
  }

  /**
   * Every record now on {@code topic} (all partitions, from the beginning up to the current end).
   */
  public static <V extends SpecificRecord> List<ConsumerRecord<String, V>> readAll(
      FlywheelInfra infra, TopicSpec<V> topic) {
    return readAll(infra, infra.bootstrapServers(), topic);
  }

  /** As {@link #readAll(FlywheelInfra, TopicSpec)}, from another broker (the shared registry). */
  public static <V extends SpecificRecord> List<ConsumerRecord<String, V>> readAll(
      FlywheelInfra infra, String bootstrapServers, TopicSpec<V> topic) {
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("gateway-test-reader"));
    props.put("bootstrap.servers", bootstrapServers);
    AvroDeserializer<V> values =
        new AvroDeserializer<>(
            new HttpSchemaRegistryClient(infra.registryUrl()), topic.valueType());
    try (KafkaConsumer<String, V> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), values)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic.name(), Duration.ofSeconds(20)).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(20));
      List<ConsumerRecord<String, V>> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("timed out reading " + topic.name());
        }
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  /** Records on {@code topic} whose value's eventId is in {@code eventIds}, grouped by event id. */
  public static <V extends SpecificRecord> Map<String, List<ConsumerRecord<String, V>>> byEventId(
      FlywheelInfra infra, TopicSpec<V> topic, java.util.Collection<String> eventIds) {
    return readAll(infra, topic).stream()
        .filter(r -> eventIds.contains(eventIdOf(r.value())))
        .collect(Collectors.groupingBy(r -> eventIdOf(r.value())));
  }

  static String eventIdOf(SpecificRecord value) {
    return value.get(value.getSchema().getField("eventId").pos()).toString();
  }

  @Override
  public void close() {
    context.close();
  }
}
