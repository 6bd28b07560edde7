package dev.flywheel.trainerkit;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a compacted versions topic ({@code models.reward.versions}, {@code models.policy.versions})
 * says, read from the beginning to the end offsets it had when {@link #load} was called: the latest
 * record of every version, the highest version number ever seen, and the latest accepted ({@code
 * LIVE}) version.
 *
 * <p>Read {@code read_committed}: versions of aborted transactions are not there. A trainer that
 * publishes transactionally must call {@link VersionPublisher#create} (whose {@code
 * initTransactions} aborts a crashed predecessor's open transaction) BEFORE loading the ledger, or
 * the read waits for that transaction.
 *
 * <p>The next version number is {@link #nextVersion()} = highest + 1, where "highest" counts every
 * version ever read, also tombstoned (null value) and REJECTED ones, so a number is never reused.
 * Not thread-safe; keep it current with {@link #apply} after each publish. A record that cannot be
 * decoded is logged and skipped, but the number in its key stays taken.
 *
 * @param <V> the generated Avro class of the topic's values
 */
public final class VersionLedger<V extends SpecificRecord> {

  private static final Logger LOG = LoggerFactory.getLogger(VersionLedger.class);

  private final String topic;
  private final ToLongFunction<V> versionOf;
  private final Function<V, ModelStatus> statusOf;
  private final TreeMap<Long, V> latest = new TreeMap<>();
  private long highest;
  private long recordsRead;

  /**
   * An empty ledger (nothing read yet); {@link #load} reads one from a topic.
   *
   * @param versionOf the version number of a record
   * @param statusOf the lifecycle status of a record
   */
  public VersionLedger(
      String topic, ToLongFunction<V> versionOf, Function<V, ModelStatus> statusOf) {
    this.topic = Objects.requireNonNull(topic, "topic");
    this.versionOf = Objects.requireNonNull(versionOf, "versionOf");
    this.statusOf = Objects.requireNonNull(statusOf, "statusOf");
  }

  /** Reads the reward versions topic. */
  public static VersionLedger<RewardModelVersion> loadRewardVersions(
      KafkaSettings kafka, String topic, Duration timeout) throws TimeoutException {
    return load(
        kafka,
        topic,
        RewardModelVersion.class,
        RewardModelVersion::getVersion,
        RewardModelVersion::getStatus,
        timeout);
  }

  /** Reads the policy versions topic. */
  public static VersionLedger<PolicyVersion> loadPolicyVersions(
      KafkaSettings kafka, String topic, Duration timeout) throws TimeoutException {
    return load(
        kafka,
        topic,
        PolicyVersion.class,
        PolicyVersion::getVersion,
        PolicyVersion::getStatus,
        timeout);
  }

  /**
   * Reads {@code topic} (all partitions) from the beginning up to the end offsets it has now, with
   * a group-less consumer (no offsets are committed).
   *
   * @throws TimeoutException if the end is not reached within {@code timeout}
   */
  public static <V extends SpecificRecord> VersionLedger<V> load(
      KafkaSettings kafka,
      String topic,
      Class<V> type,
      ToLongFunction<V> versionOf,
      Function<V, ModelStatus> statusOf,
      Duration timeout)
      throws TimeoutException {
    VersionLedger<V> ledger = new VersionLedger<>(topic, versionOf, statusOf);
    Map<String, Object> config = kafka.consumerConfig("version-ledger-" + topic, null);
    AvroDeserializer<V> values = kafka.valueDeserializer(type);
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
      if (infos == null || infos.isEmpty()) {
        throw new IllegalStateException("topic " + topic + " does not exist");
      }
      List<TopicPartition> partitions = new ArrayList<>();
      infos.forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
      while (!reached(consumer, end)) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException(
              "reading " + topic + " to its end offsets " + end + " took longer than " + timeout);
        }
        for (ConsumerRecord<String, byte[]> record :
            consumer.poll(Duration.ofMillis(Math.min(200, left / 1_000_000 + 1)))) {
          ledger.applyBytes(record, values);
        }
      }
    }
    LOG.info(
        "Version ledger {}: {} records, {} versions, highest {}, latest accepted {}",
        topic,
        ledger.recordsRead,
        ledger.latest.size(),
        ledger.highest,
        ledger.latestAccepted().map(v -> String.valueOf(versionOf.applyAsLong(v))).orElse("none"));
    return ledger;
  }

  private static boolean reached(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Applies one raw record. A record that cannot be decoded is logged and skipped, but the version
   * number in its key still counts towards {@link #highestVersion()} (never reuse a number). A
   * schema registry outage is thrown: the caller's load fails and is retried, never completed
   * without the record.
   */
  void applyBytes(ConsumerRecord<String, byte[]> record, AvroDeserializer<V> values) {
    V value = null;
    if (record.value() != null) {
      try {
        value = values.deserialize(record.topic(), record.value());
      } catch (RuntimeException e) {
        if (AvroSerdeException.isRegistryOutage(e)) {
          // not an undecodable record: a ledger loaded without it would be wrong; fail the load,
          // retry later
          throw e;
        }
        LOG.error(
            "undecodable record at {}-{}@{} (key '{}'): {}; its version number stays reserved",
            record.topic(),
            record.partition(),
            record.offset(),
            record.key(),
            e.getMessage());
        recordsRead++;
        keyVersion(record.key()).ifPresent(v -> highest = Math.max(highest, v));
        return;
      }
    }
    applyRecord(record.key(), value);
  }

  /**
   * Applies one record as read from the topic; a null value is a tombstone for the version in the
   * key.
   */
  void applyRecord(String key, V value) {
    recordsRead++;
    if (value != null) {
      apply(value);
      return;
    }
    Optional<Long> version = keyVersion(key);
    if (version.isEmpty()) {
      LOG.warn("ignoring tombstone with non-numeric key '{}' on {}", key, topic);
      return;
    }
    highest = Math.max(highest, version.get());
    latest.remove(version.get());
  }

  private static Optional<Long> keyVersion(String key) {
    try {
      return key == null ? Optional.empty() : Optional.of(Long.parseLong(key.trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Records {@code event} as the latest state of its version (call after publishing it). */
  public void apply(V event) {
    long version = versionOf.applyAsLong(event);
    highest = Math.max(highest, version);
    latest.put(version, event);
  }

  public String topic() {
    return topic;
  }

  /** The latest record of {@code version}, if any (empty after a tombstone). */
  public Optional<V> get(long version) {
    return Optional.ofNullable(latest.get(version));
  }

  /** Latest record per version, ascending by version (unmodifiable view). */
  public NavigableMap<Long, V> versions() {
    return Collections.unmodifiableNavigableMap(latest);
  }

  /** The highest version number ever seen (0 if none). */
  public long highestVersion() {
    return highest;
  }

  /** The number to give the next version: {@link #highestVersion()} + 1 (versions start at 1). */
  public long nextVersion() {
    return highest + 1;
  }

  /** The highest version whose latest status is {@code LIVE}. */
  public Optional<V> latestAccepted() {
    for (V v : latest.descendingMap().values()) {
      if (statusOf.apply(v) == ModelStatus.LIVE) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }

  /** The latest record of the highest version, whatever its status. */
  public Optional<V> latestVersion() {
    return latest.isEmpty() ? Optional.empty() : Optional.of(latest.lastEntry().getValue());
  }

  public long versionOf(V event) {
    return versionOf.applyAsLong(event);
  }
}
