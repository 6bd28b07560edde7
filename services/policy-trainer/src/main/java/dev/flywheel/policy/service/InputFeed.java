package dev.flywheel.policy.service;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.Turn;
import dev.flywheel.model.ChatRole;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.modelevents.ChatTurns;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.VersionLedger;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the trainer reads, through one assign-mode consumer ({@code read_committed}) polled by
 * the training loop between steps:
 *
 * <ul>
 *   <li>{@code feedback.demonstrations} from the beginning on every start (the topic keeps its data
 *       forever; it is the SFT training set), kept in memory (the most recent {@code
 *       max-demonstrations});
 *   <li>{@code chat.transcripts} from {@code end − transcript-window} per partition: the recent
 *       prompts, into the {@link PromptPool};
 *   <li>only when {@code ppo.algorithm=dpo}: {@code training.comparisons} from the beginning on
 *       every start (kept forever, like the demonstrations), into the {@link ComparisonBuffer};
 *   <li>the reward and policy versions topics from where the ledgers' initial load ended, into the
 *       {@link VersionLedger}s (new reward models, statuses changed by promote/rollback).
 * </ul>
 *
 * A demonstration, transcript or comparison group that cannot be decoded or used goes to the
 * dead-letter topic with the reason, once: the consumer commits its positions (group {@code
 * <transactional-id>-input}, used for nothing else) and records below the committed position are
 * not dead-lettered again after a restart.
 */
final class InputFeed implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(InputFeed.class);
  static final String SERVICE = "policy-trainer";

  /** A demonstration and where it was read. */
  record StoredDemo(int partition, long offset, String eventId, SftTrainer.Demo demo) {}

  private final PolicyTrainerConfig config;
  private final KafkaConsumer<String, byte[]> consumer;
  private final DeadLetterWriter deadLetters;
  private final AvroDeserializer<Demonstration> demoValues;
  private final AvroDeserializer<ChatTranscript> transcriptValues;
  private final AvroDeserializer<ComparisonGroup> comparisonValues;
  private final AvroDeserializer<PolicyVersion> policyValues;
  private final AvroDeserializer<RewardModelVersion> rewardValues;
  private final VersionLedger<PolicyVersion> policies;
  private final VersionLedger<RewardModelVersion> rewards;
  private final PromptPool prompts;
  private final ComparisonBuffer comparisons;
  private final PolicyTrainerStatus status;
  private final Deque<StoredDemo> demos = new ArrayDeque<>();

  /** While the registry is down: no read before this (System.nanoTime()). */
  private long retryNotBefore = Long.MIN_VALUE;

  /**
   * Event ids of the demonstrations in memory: a redelivered event (a client's retry through
   * another gateway replica) is counted once.
   */
  private final java.util.Set<String> demoEventIds = new java.util.HashSet<>();

  private final Map<TopicPartition, Long> catchUpTo = new HashMap<>();
  private final Map<Integer, Long> firstDemoOffset = new TreeMap<>();
  private final List<TopicPartition> demoPartitions;
  private final List<TopicPartition> transcriptPartitions;
  private final List<TopicPartition> comparisonPartitions;
  private long polled;

  /**
   * @param versionStart where to continue each versions-topic partition (the end offsets taken just
   *     before the ledgers were loaded, so no record published since is missed)
   * @param comparisons where the comparison groups go; null: {@code training.comparisons} is not
   *     read (every algorithm but DPO)
   */
  InputFeed(
      KafkaSettings kafka,
      PolicyTrainerConfig config,
      VersionLedger<PolicyVersion> policies,
      VersionLedger<RewardModelVersion> rewards,
      Map<TopicPartition, Long> versionStart,
      PromptPool prompts,
      ComparisonBuffer comparisons,
      PolicyTrainerStatus status) {
    this.config = config;
    this.policies = policies;
    this.rewards = rewards;
    this.prompts = prompts;
    this.comparisons = comparisons;
    this.status = status;
    Map<String, Object> consumerConfig =
        kafka.consumerConfig(SERVICE + "-input", config.getTransactionalId() + "-input");
    consumerConfig.put("max.poll.records", 2000);
    consumer =
        new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
    deadLetters = new DeadLetterWriter(kafka, config.getDeadLettersTopic(), status);
    demoValues = deserializer(kafka, Demonstration.class);
    transcriptValues = deserializer(kafka, ChatTranscript.class);
    comparisonValues = deserializer(kafka, ComparisonGroup.class);
    policyValues = deserializer(kafka, PolicyVersion.class);
    rewardValues = deserializer(kafka, RewardModelVersion.class);

    Duration timeout = config.getKafkaTimeout();
    demoPartitions = partitions(config.getDemonstrationsTopic(), timeout);
    transcriptPartitions = partitions(config.getTranscriptsTopic(), timeout);
    comparisonPartitions =
        comparisons == null ? List.of() : partitions(config.getComparisonsTopic(), timeout);
    List<TopicPartition> feedback = new ArrayList<>(demoPartitions);
    feedback.addAll(transcriptPartitions);
    feedback.addAll(comparisonPartitions);
    List<TopicPartition> all = new ArrayList<>(feedback);
    all.addAll(versionStart.keySet());
    consumer.assign(all);

    Map<TopicPartition, OffsetAndMetadata> committed =
        consumer.committed(Set.copyOf(feedback), timeout);
    committed.forEach((tp, om) -> deadLetters.startAt(tp, om == null ? 0L : om.offset()));
    Map<TopicPartition, Long> begin = consumer.beginningOffsets(feedback, timeout);
    Map<TopicPartition, Long> end = consumer.endOffsets(feedback, timeout);
    for (TopicPartition tp : demoPartitions) {
      consumer.seek(tp, begin.get(tp));
    }
    for (TopicPartition tp : comparisonPartitions) {
      consumer.seek(tp, begin.get(tp));
    }
    for (TopicPartition tp : transcriptPartitions) {
      consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - config.getTranscriptWindow()));
    }
    versionStart.forEach(consumer::seek);
    catchUpTo.putAll(end);
    LOG.info(
        "input: {} demonstration partitions from the beginning, {} transcript partitions from end - {}, "
            + "{} comparison partitions from the beginning, catching up to {}",
        demoPartitions.size(),
        transcriptPartitions.size(),
        config.getTranscriptWindow(),
        comparisonPartitions.size(),
        end);
  }

  private static <T extends SpecificRecord> AvroDeserializer<T> deserializer(
      KafkaSettings kafka, Class<T> type) {
    AvroDeserializer<T> d = new AvroDeserializer<>();
    d.configure(
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            kafka.registryUrl(),
            AvroSerdeConfig.SPECIFIC_TYPE,
            type),
        false);
    return d;
  }

  private List<TopicPartition> partitions(String topic, Duration timeout) {
    List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("topic " + topic + " does not exist");
    }
    return infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
  }

  /**
   * Reads what is there (waiting up to {@code timeout} if nothing is); returns the number of
   * records. A schema-registry outage is not bad input: the batch stops at the record that could
   * not be decoded, every partition of the batch is rewound to its first record not applied, and
   * nothing is read for {@code REGISTRY_RETRY}; nothing is dead-lettered or skipped, and the
   * committed positions (the dead-letter watermark) never pass a record that was not applied.
   */
  int poll(Duration timeout) {
    long now = System.nanoTime();
    if (now < retryNotBefore) {
      sleep(Math.min(timeout.toNanos(), retryNotBefore - now));
      return 0;
    }
    List<ConsumerRecord<String, byte[]>> batch = new ArrayList<>();
    consumer.poll(timeout).forEach(batch::add);
    int n = 0;
    for (ConsumerRecord<String, byte[]> record : batch) {
      String topic = record.topic();
      try {
        if (topic.equals(config.getDemonstrationsTopic())) {
          onDemonstration(record);
        } else if (topic.equals(config.getTranscriptsTopic())) {
          onTranscript(record);
        } else if (comparisons != null && topic.equals(config.getComparisonsTopic())) {
          onComparison(record);
        } else if (topic.equals(config.getPolicyVersionsTopic())) {
          onVersion(record, policyValues, policies);
        } else if (topic.equals(config.getRewardVersionsTopic())) {
          onVersion(record, rewardValues, rewards);
        }
      } catch (RegistryUnavailable e) {
        Map<TopicPartition, Long> rewind = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : batch.subList(n, batch.size())) {
          rewind.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
        }
        rewind.forEach(consumer::seek);
        retryNotBefore = System.nanoTime() + REGISTRY_RETRY.toNanos();
        status.registryOutage();
        LOG.warn(
            "schema registry unavailable ({}); re-reading from {} in {}",
            e.getCause().getMessage(),
            rewind,
            REGISTRY_RETRY);
        break;
      }
      n++;
    }
    if (n > 0) {
      polled += n;
      commitFeedbackPositions();
      if (comparisons != null) {
        status.comparisonGroups(comparisons.trainSize(), comparisons.evalSize());
      }
    }
    return n;
  }

  /** True once demonstrations and transcripts are read up to the end offsets they had at start. */
  boolean caughtUp() {
    for (Map.Entry<TopicPartition, Long> e : catchUpTo.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** The demonstrations in memory, oldest first. */
  List<StoredDemo> demos() {
    return List.copyOf(demos);
  }

  int demoCount() {
    return demos.size();
  }

  /** Next offset to read per demonstrations partition. */
  Map<Integer, Long> demoPositions() {
    Map<Integer, Long> out = new TreeMap<>();
    for (TopicPartition tp : demoPartitions) {
      out.put(tp.partition(), consumer.position(tp));
    }
    return out;
  }

  /** Next offset to read per {@code training.comparisons} partition (empty unless DPO). */
  Map<Integer, Long> comparisonPositions() {
    Map<Integer, Long> out = new TreeMap<>();
    for (TopicPartition tp : comparisonPartitions) {
      out.put(tp.partition(), consumer.position(tp));
    }
    return out;
  }

  /** First demonstration offset held per partition (where the lineage range starts). */
  Map<Integer, Long> firstDemoOffsets() {
    return new TreeMap<>(firstDemoOffset);
  }

  long recordsPolled() {
    return polled;
  }

  private void onDemonstration(ConsumerRecord<String, byte[]> record) {
    Demonstration d;
    try {
      d = demoValues.deserialize(record.topic(), record.value());
    } catch (RuntimeException e) {
      RegistryUnavailable.rethrowIfOutage(e);
      deadLetter(record, null, e);
      return;
    }
    if (d == null || d.getResponse() == null || d.getResponse().isBlank()) {
      deadLetter(
          record,
          "INVALID_DEMONSTRATION",
          new IllegalArgumentException(
              d == null
                  ? "tombstone on the demonstrations topic"
                  : "demonstration " + d.getDemonstrationId() + " has an empty response"));
      return;
    }
    List<ChatTurn> turns = turns(d.getTurns(), null);
    if (turns.isEmpty()) {
      deadLetter(
          record,
          "INVALID_DEMONSTRATION",
          new IllegalArgumentException(
              "demonstration " + d.getDemonstrationId() + " has no prompt turns"));
      return;
    }
    firstDemoOffset.putIfAbsent(record.partition(), record.offset());
    if (!demoEventIds.add(d.getEventId())) {
      status.duplicateDemonstration();
      LOG.debug(
          "demonstration event {} at {}-{} is a duplicate; skipped",
          d.getEventId(),
          record.partition(),
          record.offset());
      return;
    }
    demos.addLast(
        new StoredDemo(
            record.partition(),
            record.offset(),
            d.getEventId(),
            new SftTrainer.Demo(d.getDemonstrationId(), turns, d.getResponse())));
    while (demos.size() > config.getMaxDemonstrations()) {
      StoredDemo dropped = demos.removeFirst();
      demoEventIds.remove(dropped.eventId());
      firstDemoOffset.put(dropped.partition(), dropped.offset() + 1);
    }
  }

  private void onTranscript(ConsumerRecord<String, byte[]> record) {
    ChatTranscript t;
    try {
      t = transcriptValues.deserialize(record.topic(), record.value());
    } catch (RuntimeException e) {
      RegistryUnavailable.rethrowIfOutage(e);
      deadLetter(record, null, e);
      return;
    }
    if (t == null) {
      return;
    }
    List<ChatTurn> turns = turns(t.getTurns(), t.getPrompt());
    if (turns.isEmpty() || turns.get(turns.size() - 1).role() != ChatRole.USER) {
      deadLetter(
          record,
          "INVALID_TRANSCRIPT",
          new IllegalArgumentException(
              "transcript " + t.getTranscriptId() + " does not end with the user's prompt"));
      return;
    }
    prompts.addTranscript(turns, record.partition(), record.offset());
  }

  private void onComparison(ConsumerRecord<String, byte[]> record) {
    ComparisonGroup g;
    try {
      g = comparisonValues.deserialize(record.topic(), record.value());
    } catch (RuntimeException e) {
      RegistryUnavailable.rethrowIfOutage(e);
      deadLetter(record, null, e);
      return;
    }
    if (g == null) {
      deadLetter(
          record,
          "INVALID_GROUP",
          new IllegalArgumentException("tombstone on the comparisons topic"));
      return;
    }
    try {
      comparisons.add(ComparisonBuffer.of(g, record.partition(), record.offset()));
    } catch (IllegalArgumentException e) {
      deadLetter(record, "INVALID_GROUP", e);
    }
  }

  private <V extends SpecificRecord> void onVersion(
      ConsumerRecord<String, byte[]> record, AvroDeserializer<V> values, VersionLedger<V> ledger) {
    if (record.value() == null) {
      LOG.info(
          "tombstone for version '{}' on {} (number stays taken)", record.key(), record.topic());
      return;
    }
    try {
      ledger.apply(values.deserialize(record.topic(), record.value()));
    } catch (RuntimeException e) {
      RegistryUnavailable.rethrowIfOutage(e);
      LOG.error(
          "undecodable version record {}-{}@{}: {}",
          record.topic(),
          record.partition(),
          record.offset(),
          e.toString());
    }
  }

  /** Retry interval while the schema registry is unavailable. */
  private static final Duration REGISTRY_RETRY = Duration.ofSeconds(2);

  /** The registry could not be asked for a record's schema: transient, the record is read again. */
  private static final class RegistryUnavailable extends RuntimeException {
    RegistryUnavailable(RuntimeException cause) {
      super(cause);
    }

    static void rethrowIfOutage(RuntimeException e) {
      if (AvroSerdeException.isRegistryOutage(e)) {
        throw new RegistryUnavailable(e);
      }
    }
  }

  private static void sleep(long nanos) {
    if (nanos <= 0) {
      return;
    }
    try {
      Thread.sleep(Math.max(1, nanos / 1_000_000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static List<ChatTurn> turns(Collection<Turn> turns, String prompt) {
    List<ChatTurn> out = new ArrayList<>();
    if (turns != null) {
      out.addAll(ChatTurns.toChatTurns(turns));
    }
    if (out.isEmpty() && prompt != null && !prompt.isBlank()) {
      out.add(ChatTurn.user(prompt));
    }
    return out;
  }

  private void deadLetter(
      ConsumerRecord<String, byte[]> record, String errorType, Exception error) {
    deadLetters.write(record, errorType, error);
  }

  /** Commits the positions of the feedback partitions (the dead-letter watermark) once past it. */
  private void commitFeedbackPositions() {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : demoPartitions) {
      advance(tp, offsets);
    }
    for (TopicPartition tp : transcriptPartitions) {
      advance(tp, offsets);
    }
    for (TopicPartition tp : comparisonPartitions) {
      advance(tp, offsets);
    }
    if (!offsets.isEmpty()) {
      // dead letters acknowledged first, then the watermark; a lost one fails the loop before the
      // commit, so the record is read and dead-lettered again after the restart
      deadLetters.awaitAcknowledged();
      consumer.commitAsync(
          offsets,
          (o, e) -> {
            if (e != null) {
              LOG.debug("committing input positions failed: {}", e.toString());
            }
          });
    }
  }

  private void advance(TopicPartition tp, Map<TopicPartition, OffsetAndMetadata> offsets) {
    long position = consumer.position(tp);
    if (deadLetters.advance(tp, position)) {
      offsets.put(tp, new OffsetAndMetadata(position));
    }
  }

  @Override
  public void close() {
    try {
      consumer.close(Duration.ofSeconds(5));
    } finally {
      deadLetters.close();
    }
  }
}
