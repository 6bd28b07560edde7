package dev.flywheel.policy.service;

import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.VersionLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
 *       max-demonstrations}) by {@link InputRecords};
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
 *
 * <p>{@link InputRecords} decodes, checks and applies each record (or dead-letters it); this class
 * picks where to read from, backs off while the schema registry is down and commits the positions.
 */
final class InputFeed implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(InputFeed.class);
  static final String SERVICE = "policy-trainer";

  private final KafkaConsumer<String, byte[]> consumer;
  private final DeadLetterWriter deadLetters;
  private final InputRecords records;
  private final ComparisonBuffer comparisons;
  private final PolicyTrainerStatus status;

  /** While the registry is down: no read before this (System.nanoTime()). */
  private long retryNotBefore = Long.MIN_VALUE;

  private final Map<TopicPartition, Long> catchUpTo = new HashMap<>();
  private final List<TopicPartition> demoPartitions;
  private final List<TopicPartition> transcriptPartitions;
  private final List<TopicPartition> comparisonPartitions;

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
    this.comparisons = comparisons;
    this.status = status;
    Map<String, Object> consumerConfig =
        kafka.consumerConfig(SERVICE + "-input", config.getTransactionalId() + "-input");
    consumerConfig.put("max.poll.records", 2000);
    consumer =
        new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
    deadLetters = new DeadLetterWriter(kafka, config.getDeadLettersTopic(), status);
    records =
        new InputRecords(
            kafka, config, policies, rewards, prompts, comparisons, status, deadLetters);

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
      try {
        records.apply(record);
      } catch (InputRecords.RegistryUnavailable e) {
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
      commitFeedbackPositions();
      if (comparisons != null) {
        status.comparisonGroups(comparisons.trainSize(), comparisons.evalSize());
      }
    }
    return n;
  }

  /**
   * Polls until every assigned partition is read up to the end offset it has now (the last stable
   * offset, read_committed), or {@code max} has passed. One {@link #poll} returns what the consumer
   * has buffered — at most {@code max.poll.records}, and after a round of minutes fetched before
   * the round began — so a decision taken after one poll can miss a reward version published during
   * the round, round after round (an e2e run went on with SFT continuations for four minutes after
   * reward model v1 went LIVE, and timed out waiting for its RL round).
   */
  int drain(Duration max) {
    Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), max);
    long deadline = System.nanoTime() + max.toNanos();
    int n = 0;
    // a registry outage stops it: poll waits out REGISTRY_RETRY by itself, tick after tick
    while (!readUpTo(end) && System.nanoTime() < deadline && System.nanoTime() >= retryNotBefore) {
      n += poll(Duration.ofMillis(100));
    }
    return n;
  }

  private boolean readUpTo(Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** True once demonstrations and transcripts are read up to the end offsets they had at start. */
  boolean caughtUp() {
    return readUpTo(catchUpTo);
  }

  /** See {@link InputRecords#demos}. */
  List<InputRecords.StoredDemo> demos() {
    return records.demos();
  }

  int demoCount() {
    return records.demoCount();
  }

  /** Next offset to read per demonstrations partition. */
  Map<Integer, Long> demoPositions() {
    return positions(demoPartitions);
  }

  /** Next offset to read per {@code training.comparisons} partition (empty unless DPO). */
  Map<Integer, Long> comparisonPositions() {
    return positions(comparisonPartitions);
  }

  private Map<Integer, Long> positions(Iterable<TopicPartition> partitions) {
    Map<Integer, Long> out = new TreeMap<>();
    for (TopicPartition tp : partitions) {
      out.put(tp.partition(), consumer.position(tp));
    }
    return out;
  }

  /** See {@link InputRecords#firstDemoOffsets}. */
  Map<Integer, Long> firstDemoOffsets() {
    return records.firstDemoOffsets();
  }

  /** Retry interval while the schema registry is unavailable. */
  private static final Duration REGISTRY_RETRY = Duration.ofSeconds(2);

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
