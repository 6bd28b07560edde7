package dev.flywheel.serving.versions;

import dev.flywheel.events.ModelControl;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.schemas.DeadLetters;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.serving.ServingConfig;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.transcripts.ServingEventPublisher;
import io.micronaut.context.annotation.Context;
import io.micronaut.runtime.event.annotation.EventListener;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows {@code models.policy.versions} (compacted) and {@code models.control} and applies them to
 * the {@link ModelManager}'s {@link VersionBook}.
 *
 * <p>One consumer, manually assigned, no group and nothing committed: on start it reads both topics
 * from the beginning up to their end offsets, applies what it read in record-timestamp order (so
 * that a control event and the version records around it are applied in the order they happened),
 * tells the manager it has caught up — only then is a version selected and loaded, so a restart
 * goes straight to the latest LIVE version without loading every version on the way — and then
 * follows both topics (poll every 200 ms: a control event takes effect within a second, plus the
 * load time of a version not loaded yet).
 *
 * <p>A record that cannot be decoded is dead-lettered and skipped (the registry being unreachable
 * is not the record's fault: that is retried). A refused artifact ({@link ArtifactRejected}) is
 * dead-lettered with the version record's raw bytes. Dead letters get a deterministic event id
 * (source topic, partition, offset, error type), because every restart and every replica re-reads
 * the same records: consumers of the dead-letter topic can de-duplicate on it.
 *
 * <p>With {@code republish-status} (default on), a PROMOTE or ROLLBACK is also written back to the
 * versions topic — the version's latest record with the new status — which is what the model
 * registry and the trainers read (the registry does not change statuses itself). The record's event
 * id is derived from the control event's, so replicas that all republish write identical records.
 */
@Context
public class VersionWatcher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(VersionWatcher.class);
  public static final String SERVICE = "serving";

  private final ServingConfig config;
  private final KafkaProperties kafka;
  private final ModelManager manager;
  private final ServingEventPublisher publisher;
  private final AvroDeserializer<PolicyVersion> versions;
  private final AvroDeserializer<ModelControl> controls;
  private final Map<TopicPartition, Long> positions = new HashMap<>();
  private final Set<String> deadLettered = new HashSet<>();
  private final Set<String> republished = new HashSet<>();
  private final Thread thread;
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private volatile boolean running = true;
  private volatile boolean caughtUp;

  public VersionWatcher(
      ServingConfig config,
      KafkaProperties kafka,
      RegistryProperties registry,
      ModelManager manager,
      ServingEventPublisher publisher) {
    this.config = config;
    this.kafka = kafka;
    this.manager = manager;
    this.publisher = publisher;
    SchemaRegistryClient client = new HttpSchemaRegistryClient(registry.getUrl());
    this.versions = new AvroDeserializer<>(client, PolicyVersion.class);
    this.controls = new AvroDeserializer<>(client, ModelControl.class);
    this.thread = new Thread(this::run, "policy-version-watcher");
    this.thread.setDaemon(true);
  }

  @PostConstruct
  void start() {
    thread.start();
  }

  /** Whether both topics have been read to the end offsets they had at start. */
  public boolean caughtUp() {
    return caughtUp;
  }

  private Map<String, Object> consumerConfig() {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers());
    props.putAll(kafka.getProperties());
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "flywheel-serving-versions");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // versions are published in trainer transactions: never load one from an open or aborted
    // transaction
    // (a user's flywheel.kafka.properties cannot weaken this)
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.remove(ConsumerConfig.GROUP_ID_CONFIG);
    return props;
  }

  private void run() {
    while (running) {
      try (KafkaConsumer<byte[], byte[]> c =
          new KafkaConsumer<>(
              consumerConfig(), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
        consumer = c;
        List<TopicPartition> partitions = assign(c);
        if (partitions == null) {
          break;
        }
        if (!caughtUp) {
          replay(c, partitions);
          caughtUp = true;
          LOG.info("policy versions caught up: {} versions known", manager.book().all().size());
          manager.caughtUp();
          republishPending();
        }
        while (running) {
          List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
          c.poll(Duration.ofMillis(200)).forEach(batch::add);
          if (!batch.isEmpty() && apply(c, batch).changed()) {
            manager.reconcile();
            republishPending();
          }
        }
      } catch (WakeupException e) {
        if (running) {
          LOG.warn("version watcher woken up unexpectedly; restarting the consumer");
        }
      } catch (RuntimeException e) {
        LOG.error("version watcher failed; restarting the consumer in 2 s", e);
        sleep(2000);
      } finally {
        consumer = null;
      }
    }
  }

  /**
   * Assigns every partition of both topics, at the saved positions or the beginning; null if
   * stopped.
   */
  private List<TopicPartition> assign(KafkaConsumer<byte[], byte[]> c) {
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic : List.of(config.getPolicyVersionsTopic(), config.getControlTopic())) {
      List<PartitionInfo> infos;
      while (true) {
        infos = c.partitionsFor(topic, Duration.ofSeconds(10));
        if (infos != null && !infos.isEmpty()) {
          break;
        }
        LOG.warn("topic {} not found yet; waiting", topic);
        if (!running) {
          return null;
        }
        sleep(2000);
      }
      infos.forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
    }
    c.assign(partitions);
    for (TopicPartition tp : partitions) {
      Long next = positions.get(tp);
      if (next == null) {
        c.seekToBeginning(List.of(tp));
      } else {
        c.seek(tp, next);
      }
    }
    return partitions;
  }

  private void replay(KafkaConsumer<byte[], byte[]> c, List<TopicPartition> partitions) {
    Map<TopicPartition, Long> end = c.endOffsets(partitions, Duration.ofSeconds(30));
    boolean complete = false;
    while (running && !complete) {
      List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
      while (running && partitions.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        c.poll(Duration.ofMillis(200)).forEach(all::add);
      }
      complete = apply(c, all).complete();
    }
  }

  /**
   * Outcome of {@link #apply}: whether any record changed the book, whether every record was
   * applied.
   */
  private record Applied(boolean changed, boolean complete) {}

  /**
   * Applies records in timestamp order. When the registry is unreachable it stops, rewinds every
   * partition to its first record not applied, and reports the batch incomplete.
   */
  private Applied apply(
      KafkaConsumer<byte[], byte[]> c, List<ConsumerRecord<byte[], byte[]>> records) {
    records = mergeByTime(records);
    boolean changed = false;
    for (int i = 0; i < records.size(); i++) {
      ConsumerRecord<byte[], byte[]> record = records.get(i);
      TopicPartition tp = new TopicPartition(record.topic(), record.partition());
      try {
        changed |= applyOne(record);
      } catch (AvroSerdeException e) {
        if (e.problem() == AvroSerdeException.Problem.REGISTRY_ERROR) {
          // not the record's fault: read it (and everything after it) again once the registry
          // answers
          LOG.warn(
              "schema registry unavailable while reading {}@{}: {}; retrying",
              tp,
              record.offset(),
              e.getMessage());
          Map<TopicPartition, Long> rewind = new HashMap<>();
          for (ConsumerRecord<byte[], byte[]> r : records.subList(i, records.size())) {
            rewind.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
          }
          rewind.forEach(
              (p, offset) -> {
                c.seek(p, offset);
                positions.put(p, offset);
              });
          sleep(1000);
          return new Applied(changed, false);
        }
        LOG.error("undecodable record {}@{} skipped: {}", tp, record.offset(), e.getMessage());
        deadLetter(
            DeadLetters.ofUndecodable(
                SERVICE,
                e,
                record.topic(),
                record.partition(),
                record.offset(),
                record.key(),
                record.value()),
            record.key());
      } catch (RuntimeException e) {
        LOG.error("record {}@{} could not be applied; skipped", tp, record.offset(), e);
        deadLetter(
            DeadLetters.of(
                SERVICE,
                "UNPROCESSABLE",
                String.valueOf(e),
                record.topic(),
                record.partition(),
                record.offset(),
                record.key(),
                record.value()),
            record.key());
      }
      positions.merge(tp, record.offset() + 1, Math::max);
    }
    return new Applied(changed, true);
  }

  /**
   * Interleaves the partitions' records by timestamp while keeping each partition in offset order
   * (a producer's clock may go backwards; the latest offset of a version must still win).
   */
  static List<ConsumerRecord<byte[], byte[]>> mergeByTime(
      List<ConsumerRecord<byte[], byte[]>> records) {
    Map<TopicPartition, java.util.ArrayDeque<ConsumerRecord<byte[], byte[]>>> byPartition =
        new java.util.LinkedHashMap<>();
    List<ConsumerRecord<byte[], byte[]>> sorted = new ArrayList<>(records);
    sorted.sort(Comparator.comparingLong(ConsumerRecord::offset));
    for (ConsumerRecord<byte[], byte[]> r : sorted) {
      byPartition
          .computeIfAbsent(
              new TopicPartition(r.topic(), r.partition()), k -> new java.util.ArrayDeque<>())
          .add(r);
    }
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>(records.size());
    while (out.size() < records.size()) {
      java.util.ArrayDeque<ConsumerRecord<byte[], byte[]>> next = null;
      for (var queue : byPartition.values()) {
        if (!queue.isEmpty()
            && (next == null || queue.peekFirst().timestamp() < next.peekFirst().timestamp())) {
          next = queue;
        }
      }
      out.add(next.pollFirst());
    }
    return out;
  }

  private boolean applyOne(ConsumerRecord<byte[], byte[]> record) {
    VersionBook book = manager.book();
    if (record.topic().equals(config.getPolicyVersionsTopic())) {
      if (record.value() == null) {
        String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
        try {
          book.remove(Long.parseLong(key));
          LOG.info("policy version {} deleted (tombstone)", key);
          return true;
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("tombstone with a non-numeric key '" + key + "'");
        }
      }
      PolicyVersion version = versions.deserialize(record.topic(), record.value());
      book.applyVersion(
          version,
          new VersionBook.Source(
              record.topic(), record.partition(), record.offset(), record.key(), record.value()));
      LOG.info(
          "policy version {}: {} ({})",
          version.getVersion(),
          version.getStatus(),
          version.getArtifactUri());
      return true;
    }
    ModelControl control = controls.deserialize(record.topic(), record.value());
    if (control == null) {
      return false;
    }
    VersionBook.ControlOutcome outcome = book.applyControl(control);
    switch (outcome) {
      case APPLIED ->
          LOG.info(
              "control: {} policy version {} by {} ({})",
              control.getAction(),
              control.getVersion(),
              control.getRequestedBy(),
              control.getReason());
      case UNKNOWN_VERSION ->
          LOG.warn(
              "control: {} of unknown policy version {} ignored",
              control.getAction(),
              control.getVersion());
      case OTHER_KIND -> {}
    }
    return outcome == VersionBook.ControlOutcome.APPLIED;
  }

  /** Writes back the status a control event gave a version (see the class comment). */
  private void republishPending() {
    if (!config.isRepublishStatus()) {
      return;
    }
    for (VersionBook.Entry entry : manager.book().pendingRepublish()) {
      ModelControl control = entry.lastControl();
      String id =
          UUID.nameUUIDFromBytes(
                  ("serving-status|"
                          + control.getEventId()
                          + "|"
                          + entry.version()
                          + "|"
                          + entry.status())
                      .getBytes(StandardCharsets.UTF_8))
              .toString();
      synchronized (republished) {
        if (!republished.add(id)) {
          continue;
        }
      }
      PolicyVersion updated =
          PolicyVersion.newBuilder(entry.record())
              .setEventId(id)
              .setEventTime(control.getEventTime())
              .setStatus(entry.status())
              .build();
      String key = Long.toString(entry.version());
      publisher
          .publish(config.getPolicyVersionsTopic(), key, updated)
          .whenComplete(
              (m, e) -> {
                if (e != null) {
                  LOG.error(
                      "could not republish policy version {} as {}: {}",
                      entry.version(),
                      entry.status(),
                      e.toString());
                  synchronized (republished) {
                    republished.remove(id);
                  }
                } else {
                  LOG.info(
                      "republished policy version {} as {} (after {} by {})",
                      entry.version(),
                      entry.status(),
                      control.getAction(),
                      control.getRequestedBy());
                }
              });
    }
  }

  /**
   * Dead-letters a refused artifact, with the raw bytes of the version record that pointed to it.
   */
  @EventListener
  void onArtifactRejected(ArtifactRejected rejected) {
    VersionBook.Source source = rejected.entry().source();
    String reason =
        ServedModel.name(rejected.entry().version())
            + " artifact "
            + rejected.entry().artifactUri()
            + " refused: "
            + rejected.reason();
    if (source == null) {
      LOG.error("{} (no source record to dead-letter)", reason);
      return;
    }
    deadLetter(
        DeadLetters.of(
            SERVICE,
            rejected.errorType(),
            reason,
            source.topic(),
            source.partition(),
            source.offset(),
            source.key(),
            source.value()),
        source.key());
  }

  private void deadLetter(dev.flywheel.events.DeadLetter letter, byte[] key) {
    String id =
        UUID.nameUUIDFromBytes(
                (SERVICE
                        + "|"
                        + letter.getSourceTopic()
                        + "|"
                        + letter.getSourcePartition()
                        + "|"
                        + letter.getSourceOffset()
                        + "|"
                        + letter.getErrorType())
                    .getBytes(StandardCharsets.UTF_8))
            .toString();
    synchronized (deadLettered) {
      if (!deadLettered.add(id)) {
        return;
      }
    }
    letter.setEventId(id);
    String k = key == null ? null : new String(key, StandardCharsets.UTF_8);
    publish(config.getDeadLettersTopic(), k, letter, "dead letter " + letter.getErrorType());
  }

  private void publish(String topic, String key, SpecificRecord value, String what) {
    publisher
        .publish(topic, key, value)
        .whenComplete(
            (m, e) -> {
              if (e != null) {
                LOG.error("could not write {} to {}: {}", what, topic, e.toString());
              } else {
                LOG.info("wrote {} to {}@{}", what, topic, m.offset());
              }
            });
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  @PreDestroy
  public void close() {
    running = false;
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
