package dev.flywheel.reward;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.trainerkit.KafkaSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Private topics, directories and a test configuration for one trainer under test. */
public final class TrainerHarness {

  final FlywheelInfra infra;
  public final String comparisons;
  public final String versions;
  final String metrics;
  final String demonstrations;
  final String deadLetters;
  final String groupId;
  final Path artifacts;
  final Path checkpoints;

  public TrainerHarness(FlywheelInfra infra) {
    this.infra = infra;
    comparisons = infra.uniqueName("comparisons");
    versions = infra.uniqueName("reward-versions");
    metrics = infra.uniqueName("metrics");
    demonstrations = infra.uniqueName("demonstrations");
    deadLetters = infra.uniqueName("dead-letters");
    groupId = infra.uniqueName("reward-trainer");
    infra.createTopic(comparisons, 6);
    infra.createTopic(versions, 1, Topics.REWARD_VERSIONS.topicConfigs());
    infra.createTopic(metrics, 1);
    infra.createTopic(demonstrations, 3);
    infra.createTopic(deadLetters, 1);
    Path root = infra.newTempDirectory("reward-trainer-test");
    artifacts = root.resolve("artifacts");
    checkpoints = root.resolve("checkpoints");
  }

  public KafkaSettings kafka() {
    return new KafkaSettings(infra.bootstrapServers(), infra.registryUrl());
  }

  /** Test settings: the tiny model and small rounds, everything private to this harness. */
  public Map<String, Object> properties() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("flywheel.kafka.bootstrap-servers", infra.bootstrapServers());
    p.put("flywheel.registry.url", infra.registryUrl());
    String prefix = "flywheel.reward-trainer.";
    p.put(prefix + "model-preset", "tiny");
    p.put(prefix + "device", "cpu");
    p.put(prefix + "learning-rate", "3e-3");
    p.put(prefix + "batch-size-groups", "16");
    p.put(prefix + "round-min-groups", "400");
    // the tests count steps per round from epochs and batch size
    p.put(prefix + "min-steps-per-round", "0");
    p.put(prefix + "round-max-wait", "10m");
    p.put(prefix + "min-eval-groups", "20");
    p.put(prefix + "checkpoint-every-steps", "0");
    p.put(prefix + "progress-interval", "5s");
    p.put(prefix + "kafka-timeout", "30s");
    p.put(prefix + "artifact-root", artifacts.toString());
    p.put(prefix + "checkpoint-dir", checkpoints.toString());
    p.put(prefix + "group-id", groupId);
    p.put(prefix + "transactional-id", groupId);
    p.put(prefix + "comparisons-topic", comparisons);
    p.put(prefix + "versions-topic", versions);
    p.put(prefix + "metrics-topic", metrics);
    p.put(prefix + "demonstrations-topic", demonstrations);
    p.put(prefix + "dead-letters-topic", deadLetters);
    return p;
  }

  /**
   * {@link #properties()} applied to a config object, for running the trainer without Micronaut.
   */
  public RewardTrainerConfig config(Map<String, Object> overrides) {
    Map<String, Object> all = new LinkedHashMap<>(properties());
    all.putAll(overrides);
    try (io.micronaut.context.ApplicationContext ctx =
        io.micronaut.context.ApplicationContext.builder()
            .properties(all)
            .properties(Map.of("flywheel.reward-trainer.enabled", "false"))
            .start()) {
      return ctx.getBean(RewardTrainerConfig.class);
    }
  }

  /** Produces records keyed by promptKey and waits for every acknowledgement. */
  public void produce(String topic, List<ComparisonGroup> groups) throws Exception {
    Map<String, Object> props = infra.producerProps();
    AvroSerializer<ComparisonGroup> values =
        new AvroSerializer<>(new HttpSchemaRegistryClient(infra.registryUrl()), true);
    try (KafkaProducer<String, ComparisonGroup> producer =
        new KafkaProducer<>(props, new StringSerializer(), values)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (ComparisonGroup g : groups) {
        acks.add(producer.send(new ProducerRecord<>(topic, g.getPromptKey(), g)));
      }
      for (Future<RecordMetadata> f : acks) {
        f.get();
      }
    }
  }

  <V extends SpecificRecord> void produceRecord(String topic, String key, V value)
      throws Exception {
    AvroSerializer<V> values =
        new AvroSerializer<>(new HttpSchemaRegistryClient(infra.registryUrl()), true);
    try (KafkaProducer<String, V> producer =
        new KafkaProducer<>(infra.producerProps(), new StringSerializer(), values)) {
      producer.send(new ProducerRecord<>(topic, key, value)).get();
    }
  }

  public List<RewardModelVersion> versions() {
    return readAll(versions, RewardModelVersion.class).stream().map(ConsumerRecord::value).toList();
  }

  List<TrainingMetrics> metrics() {
    return readAll(metrics, TrainingMetrics.class).stream().map(ConsumerRecord::value).toList();
  }

  /** Every committed record of {@code topic}, read to its end offsets. */
  <V> List<ConsumerRecord<String, V>> readAll(String topic, Class<V> type) {
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("reader"));
    props.put("isolation.level", "read_committed");
    try (KafkaConsumer<String, V> consumer =
        new KafkaConsumer<>(
            props,
            new StringDeserializer(),
            new AvroDeserializer<>(new HttpSchemaRegistryClient(infra.registryUrl()), type))) {
      List<TopicPartition> tps =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      Map<TopicPartition, Long> end = consumer.endOffsets(tps);
      List<ConsumerRecord<String, V>> out = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 30_000;
      while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.currentTimeMillis() > deadline) {
          throw new AssertionError("could not read " + topic + " to its end");
        }
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  /**
   * Waits until the versions topic holds a record matching {@code condition}; returns all records.
   */
  public List<RewardModelVersion> awaitVersions(
      Predicate<List<RewardModelVersion>> condition,
      Duration timeout,
      java.util.function.Supplier<String> diagnostics)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<RewardModelVersion> all = versions();
      if (condition.test(all)) {
        return all;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "timed out waiting for versions; have "
                + all.size()
                + " records: "
                + all.stream().map(v -> v.getVersion() + ":" + v.getStatus()).toList()
                + "; "
                + diagnostics.get());
      }
      Thread.sleep(500);
    }
  }
}
