package dev.flywheel.pairs;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/**
 * A TopologyTestDriver around the pair assembler, with every serde (and the dead-letter processing
 * exception handler) on one registry client, normally an {@code InMemorySchemaRegistryClient}: no
 * broker and no registry process. Inputs are piped as raw bytes (so tests can pipe garbage too);
 * offsets are counted per input topic.
 */
final class Harness implements AutoCloseable {

  static final long T0 = 1_700_000_000_000L;

  final TopologyTestDriver driver;
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final PairAssemblerConfig config;
  private final AvroSerializer<ChatTranscript> transcriptWriter;
  private final AvroSerializer<HumanRanking> rankingWriter;
  private final TestInputTopic<byte[], byte[]> transcripts;
  private final TestInputTopic<byte[], byte[]> rankings;
  private final TestOutputTopic<byte[], ComparisonGroup> groups;
  private final TestOutputTopic<byte[], DeadLetter> deadLetters;
  private final TestOutputTopic<String, TrainingMetrics> metrics;
  private long transcriptOffset;
  private long rankingOffset;

  /**
   * The registry's URL in the Streams settings: a closed port, so that anything reading the URL
   * instead of the client handed over fails loudly (REGISTRY_ERROR fails the task).
   */
  static final String UNUSED_REGISTRY_URL = "http://127.0.0.1:9";

  Harness(SchemaRegistryClient registry, Path stateDir, Consumer<PairAssemblerConfig> overrides) {
    config = new PairAssemblerConfig();
    config.setApplicationId("pa-ttd-" + UUID.randomUUID().toString().substring(0, 8));
    config.setStateDir(stateDir.toString());
    config.setGracePeriod(Duration.ofSeconds(10));
    config.setSweepInterval(Duration.ofSeconds(1));
    config.setMetricsInterval(Duration.ofSeconds(1));
    config.setEvalFraction(0.2);
    overrides.accept(config);
    KafkaProperties kafka = new KafkaProperties();
    kafka.setBootstrapServers("ttd:9092");
    RegistryProperties registryProperties = new RegistryProperties();
    registryProperties.setUrl(UNUSED_REGISTRY_URL);
    PairAssemblerSerdes serdes = PairAssemblerSerdes.forRegistry(registry);
    // the production settings, plus the client for the dead-letter processing exception handler
    Properties props = StreamsSettings.properties(kafka, registryProperties, config);
    props.put(AvroSerdeConfig.SCHEMA_REGISTRY_CLIENT, registry);
    driver =
        new TopologyTestDriver(
            new PairAssemblerTopology(
                    config,
                    props,
                    config.getInputPartitions(),
                    serdes,
                    new PairAssemblerMetrics(meters))
                .build(),
            props,
            Instant.ofEpochMilli(T0));
    transcriptWriter = new AvroSerializer<>(registry, true);
    rankingWriter = new AvroSerializer<>(registry, true);
    transcripts =
        driver.createInputTopic(
            Topics.CHAT_TRANSCRIPTS.name(), new ByteArraySerializer(), new ByteArraySerializer());
    rankings =
        driver.createInputTopic(
            Topics.FEEDBACK_RANKINGS.name(), new ByteArraySerializer(), new ByteArraySerializer());
    groups =
        driver.createOutputTopic(
            Topics.TRAINING_COMPARISONS.name(),
            new ByteArrayDeserializer(),
            serdes.groups().deserializer());
    deadLetters =
        driver.createOutputTopic(
            Topics.DEAD_LETTERS.name(),
            new ByteArrayDeserializer(),
            serdes.deadLetters().deserializer());
    metrics =
        driver.createOutputTopic(
            Topics.TRAINING_METRICS.name(),
            new StringDeserializer(),
            serdes.metrics().deserializer());
  }

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  byte[] bytes(ChatTranscript t) {
    return transcriptWriter.serialize(Topics.CHAT_TRANSCRIPTS.name(), t);
  }

  byte[] bytes(HumanRanking r) {
    return rankingWriter.serialize(Topics.FEEDBACK_RANKINGS.name(), r);
  }

  /** Pipes a transcript keyed by its id at T0 + {@code atMs}; returns its offset. */
  long transcript(ChatTranscript t, long atMs) {
    return rawTranscript(utf8(t.getTranscriptId()), bytes(t), atMs);
  }

  long rawTranscript(byte[] key, byte[] value, long atMs) {
    transcripts.pipeInput(new TestRecord<>(key, value, Instant.ofEpochMilli(T0 + atMs)));
    return transcriptOffset++;
  }

  /** Pipes a ranking keyed by its transcript id at T0 + {@code atMs}; returns its offset. */
  long ranking(HumanRanking r, long atMs) {
    return rawRanking(utf8(r.getTranscriptId()), bytes(r), atMs);
  }

  long rawRanking(byte[] key, byte[] value, long atMs) {
    rankings.pipeInput(new TestRecord<>(key, value, Instant.ofEpochMilli(T0 + atMs)));
    return rankingOffset++;
  }

  List<KeyValue<byte[], ComparisonGroup>> groups() {
    return groups.readKeyValuesToList();
  }

  List<KeyValue<byte[], DeadLetter>> deadLetters() {
    return deadLetters.readKeyValuesToList();
  }

  List<TrainingMetrics> metrics() {
    return metrics.readValuesToList();
  }

  /** Lets the wall-clock punctuators run: assembler totals out, then the publisher. */
  void publishMetrics() {
    Duration interval = config.getMetricsInterval();
    driver.advanceWallClockTime(interval);
    driver.advanceWallClockTime(interval);
  }

  double meter(String name) {
    return meters.find(name).counters().stream().mapToDouble(c -> c.count()).sum();
  }

  @Override
  public void close() {
    driver.close();
  }
}
