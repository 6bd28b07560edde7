package dev.flywheel.modelregistry.kafka;

import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.modelregistry.state.MetricsStore;
import dev.flywheel.modelregistry.state.ModelState;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code models.policy.versions}, {@code models.reward.versions}, {@code models.control} and
 * {@code training.metrics} from the beginning into {@link ModelState} and {@link MetricsStore},
 * then follows them.
 *
 * <p>Why a plain consumer re-reading from the beginning, and not Kafka Streams global stores: the
 * version topics are compacted and small (one record per version and status change), the control
 * and metrics topics have 30-day retention and are bounded in memory here; re-reading all of them
 * takes seconds, needs no local state directory, no RocksDB, no changelog topics and no consumer
 * group, and the registry needs in-memory indexes (lineage walks, per-round aggregates) that a
 * key-value store would not give anyway. Restarting the service therefore rebuilds the exact same
 * view with nothing to replay by hand. The consumer uses manual assignment, so any number of
 * registry replicas can run side by side.
 *
 * <p>A record that cannot be decoded is logged, counted and skipped (see {@link #skipped()}): this
 * reader re-reads everything on every start, so dead-lettering here would write the same dead
 * letter again on each restart; the producers that wrote it are the ones that dead-letter.
 */
@Context
public class Materializer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Materializer.class);
  private static final int MAX_SKIPPED_KEPT = 50;

  /** A record that could not be applied. */
  public record Skipped(String topic, int partition, long offset, String reason, Instant at) {}

  /**
   * Where the materializer is: waiting for topics, replaying up to the start-time end offsets,
   * live.
   */
  public enum Phase {
    STARTING,
    WAITING_FOR_TOPICS,
    REPLAYING,
    CAUGHT_UP,
    STOPPED
  }

  private final KafkaProperties kafka;
  private final RegistryTopics topics;
  private final ModelState state;
  private final MetricsStore metrics;
  private final AvroDeserializer<PolicyVersion> policyDeserializer;
  private final AvroDeserializer<RewardModelVersion> rewardDeserializer;
  private final AvroDeserializer<ModelControl> controlDeserializer;
  private final AvroDeserializer<TrainingMetrics> metricsDeserializer;

  private final AtomicLong applied = new AtomicLong();
  private final AtomicLong skippedCount = new AtomicLong();
  private final Deque<Skipped> skipped = new ArrayDeque<>();
  private volatile Phase phase = Phase.STARTING;
  private volatile String lastError;
  private volatile Map<TopicPartition, Long> replayTarget = Map.of();
  private volatile Map<TopicPartition, Long> positions = Map.of();
  private volatile boolean running = true;
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private Thread thread;

  public Materializer(
      KafkaProperties kafka,
      RegistryProperties registryProperties,
      RegistryTopics topics,
      ModelState state,
      MetricsStore metrics) {
    this.kafka = kafka;
    this.topics = topics;
    this.state = state;
    this.metrics = metrics;
    SchemaRegistryClient registry = new HttpSchemaRegistryClient(registryProperties.getUrl());
    this.policyDeserializer = new AvroDeserializer<>(registry, PolicyVersion.class);
    this.rewardDeserializer = new AvroDeserializer<>(registry, RewardModelVersion.class);
    this.controlDeserializer = new AvroDeserializer<>(registry, ModelControl.class);
    this.metricsDeserializer = new AvroDeserializer<>(registry, TrainingMetrics.class);
  }

  @PostConstruct
  void start() {
    thread = new Thread(this::run, "registry-materializer");
    thread.setDaemon(true);
    thread.start();
  }

  @PreDestroy
  @Override
  public void close() {
    running = false;
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    if (thread != null) {
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    phase = Phase.STOPPED;
  }

  private void run() {
    while (running) {
      try {
        consumeUntilClosed();
      } catch (WakeupException e) {
        return; // closing
      } catch (RuntimeException e) {
        // every apply is idempotent by offset, so starting over with a new consumer is safe
        lastError = e.toString();
        LOG.error("materializer consumer failed; starting a new one", e);
        sleep(2_000);
      }
    }
  }

  private void consumeUntilClosed() {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers());
    props.putAll(kafka.getProperties());
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.remove(ConsumerConfig.GROUP_ID_CONFIG); // manual assignment, no group, nothing committed
    props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "model-registry-materializer");
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
      consumer = c;
      if (!running) {
        return;
      }
      List<TopicPartition> partitions = awaitTopics(c);
      c.assign(partitions);
      c.seekToBeginning(partitions);
      Map<TopicPartition, Long> target =
          new HashMap<>(c.endOffsets(partitions, Duration.ofSeconds(30)));
      replayTarget = Map.copyOf(target);
      if (phase != Phase.CAUGHT_UP) {
        phase = Phase.REPLAYING;
      }
      LOG.info("replaying {} up to {}", topics.all(), target);
      while (running) {
        try {
          ConsumerRecords<byte[], byte[]> records = c.poll(Duration.ofMillis(250));
          for (ConsumerRecord<byte[], byte[]> r : records) {
            apply(r);
          }
          if (phase != Phase.CAUGHT_UP || !records.isEmpty()) {
            checkCaughtUp(c, partitions, target);
          }
          lastError = null;
        } catch (WakeupException e) {
          throw e;
        } catch (org.apache.kafka.common.KafkaException e) {
          if (e instanceof org.apache.kafka.common.errors.RetriableException) {
            lastError = e.toString();
            LOG.warn("materializer poll failed; retrying: {}", e.toString());
            sleep(1_000);
          } else {
            throw e;
          }
        }
      }
    } finally {
      consumer = null;
    }
  }

  private List<TopicPartition> awaitTopics(KafkaConsumer<byte[], byte[]> c) {
    phase = Phase.WAITING_FOR_TOPICS;
    while (true) {
      if (!running) {
        throw new WakeupException();
      }
      try {
        Map<String, List<PartitionInfo>> all = c.listTopics(Duration.ofSeconds(10));
        List<String> missing = topics.all().stream().filter(t -> !all.containsKey(t)).toList();
        if (missing.isEmpty()) {
          List<TopicPartition> partitions = new ArrayList<>();
          for (String topic : topics.all()) {
            for (PartitionInfo p : all.get(topic)) {
              partitions.add(new TopicPartition(topic, p.partition()));
            }
          }
          lastError = null;
          return partitions;
        }
        lastError = "waiting for topics " + missing;
        LOG.info("waiting for topics {}", missing);
      } catch (WakeupException e) {
        throw e;
      } catch (RuntimeException e) {
        lastError = e.toString();
        LOG.warn("cannot list topics yet: {}", e.toString());
      }
      sleep(2_000);
    }
  }

  private void checkCaughtUp(
      KafkaConsumer<byte[], byte[]> c,
      List<TopicPartition> partitions,
      Map<TopicPartition, Long> target) {
    Map<TopicPartition, Long> now = new HashMap<>();
    boolean done = true;
    for (TopicPartition tp : partitions) {
      long pos = c.position(tp, Duration.ofSeconds(5));
      now.put(tp, pos);
      if (pos < target.getOrDefault(tp, 0L)) {
        done = false;
      }
    }
    positions = Map.copyOf(now);
    if (done && phase != Phase.CAUGHT_UP) {
      phase = Phase.CAUGHT_UP;
      LOG.info(
          "caught up: {} policy and {} reward versions, {} metric points",
          state.count(ModelKind.POLICY),
          state.count(ModelKind.REWARD),
          metrics.total());
    }
  }

  private void apply(ConsumerRecord<byte[], byte[]> r) {
    String topic = r.topic();
    String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
    try {
      if (topic.equals(topics.getPolicyVersions())) {
        state.applyVersion(
            ModelKind.POLICY, key, policyDeserializer.deserialize(topic, r.value()), r.offset());
      } else if (topic.equals(topics.getRewardVersions())) {
        state.applyVersion(
            ModelKind.REWARD, key, rewardDeserializer.deserialize(topic, r.value()), r.offset());
      } else if (topic.equals(topics.getControl())) {
        if (r.value() != null) {
          state.applyControl(
              controlDeserializer.deserialize(topic, r.value()), r.partition(), r.offset());
        }
      } else if (topic.equals(topics.getMetrics())) {
        if (r.value() != null) {
          metrics.apply(
              metricsDeserializer.deserialize(topic, r.value()), r.partition(), r.offset());
        }
      }
      applied.incrementAndGet();
    } catch (RuntimeException e) {
      skippedCount.incrementAndGet();
      LOG.warn("skipping {}-{}@{}: {}", topic, r.partition(), r.offset(), e.getMessage());
      synchronized (skipped) {
        skipped.addLast(
            new Skipped(
                topic, r.partition(), r.offset(), String.valueOf(e.getMessage()), Instant.now()));
        while (skipped.size() > MAX_SKIPPED_KEPT) {
          skipped.removeFirst();
        }
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public Phase phase() {
    return phase;
  }

  public boolean caughtUp() {
    return phase == Phase.CAUGHT_UP;
  }

  public String lastError() {
    return lastError;
  }

  public long appliedCount() {
    return applied.get();
  }

  public long skippedCount() {
    return skippedCount.get();
  }

  public List<Skipped> skipped() {
    synchronized (skipped) {
      return List.copyOf(skipped);
    }
  }

  /** End offsets captured at start: the materializer is caught up once it has read up to them. */
  public Map<String, Long> replayTarget() {
    return byName(replayTarget);
  }

  public Map<String, Long> positions() {
    return byName(positions);
  }

  /** Records between the last known position and the start-time end offsets (0 once caught up). */
  public long replayRemaining() {
    Map<TopicPartition, Long> pos = positions;
    long remaining = 0;
    for (Map.Entry<TopicPartition, Long> e : replayTarget.entrySet()) {
      remaining += Math.max(0, e.getValue() - pos.getOrDefault(e.getKey(), 0L));
    }
    return remaining;
  }

  private static Map<String, Long> byName(Map<TopicPartition, Long> offsets) {
    Map<String, Long> out = new java.util.TreeMap<>();
    offsets.forEach((tp, o) -> out.put(tp.topic() + "-" + tp.partition(), o));
    return out;
  }
}
