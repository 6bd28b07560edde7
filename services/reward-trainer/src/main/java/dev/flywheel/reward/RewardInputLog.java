package dev.flywheel.reward;

import dev.flywheel.events.DataSplit;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.OffsetRanges;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * The reward trainer's view of {@code training.comparisons}: what is already inside a published
 * version (the committed offsets, and from them the rebuilt replay buffer and eval set), what is
 * pending for the next round, and what a round takes and gives back. Undecodable and invalid groups
 * become dead letters (acknowledged before a round's offsets commit); a schema-registry outage
 * rewinds and waits instead (both in the {@link ComparisonGroupReader}, which reads the records).
 */
final class RewardInputLog {

  private final RewardTrainerConfig config;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final ComparisonGroupReader reader;

  private final List<TopicPartition> partitions = new ArrayList<>();
  private final Map<TopicPartition, Long> committed = new HashMap<>();
  private final BoundedGroups buffer;
  private final BoundedGroups evalSet;
  private final List<EncodedGroup> pending = new ArrayList<>();

  /**
   * Quarantined input (of REJECTED versions shown worse than their parent): recorded in their
   * lineage, never replayed.
   */
  private final OffsetRanges rejectedInput;

  private long newestPolicyVersion = -1;

  /**
   * When the oldest train-split group waiting for a round arrived (0: none waiting); drives
   * round-max-wait.
   */
  private long firstWaitingNanos;

  /** A round's input, split. */
  record RoundInput(
      List<EncodedGroup> all, List<EncodedGroup> newTrain, List<EncodedGroup> staleDropped) {}

  RewardInputLog(
      RewardTrainerConfig config,
      KafkaConsumer<byte[], byte[]> consumer,
      ComparisonGroupReader reader,
      OffsetRanges rejectedInput) {
    this.config = config;
    this.consumer = consumer;
    this.reader = reader;
    this.rejectedInput = rejectedInput;
    this.buffer = new BoundedGroups(config.getBufferMaxGroups());
    this.evalSet = new BoundedGroups(config.getEvalMaxGroups());
  }

  /**
   * Assigns every partition of the input topic, reads the committed offsets, and seeks to where the
   * rebuild of the buffer and the eval set starts: the earliest offsets the checkpoint says they
   * still hold, or the beginning without one.
   *
   * @return per partition, where the rebuild starts
   */
  Map<TopicPartition, Long> open(Optional<Checkpoints.Checkpoint> checkpoint, Duration timeout) {
    List<PartitionInfo> infos = consumer.partitionsFor(config.getComparisonsTopic(), timeout);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException(
          "input topic " + config.getComparisonsTopic() + " does not exist");
    }
    infos.forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
    partitions.sort(Comparator.comparingInt(TopicPartition::partition));
    consumer.assign(partitions);
    Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
    Map<TopicPartition, OffsetAndMetadata> stored =
        consumer.committed(new HashSet<>(partitions), timeout);
    for (TopicPartition tp : partitions) {
      OffsetAndMetadata o = stored.get(tp);
      committed.put(tp, o == null ? begin.get(tp) : Math.max(o.offset(), begin.get(tp)));
    }
    Map<TopicPartition, Long> from = new HashMap<>();
    for (TopicPartition tp : partitions) {
      long start = begin.get(tp);
      if (checkpoint.isPresent()) {
        Long held = RewardRoundCheckpoints.historyFrom(checkpoint.get(), tp.partition());
        start = held == null ? committed.get(tp) : Math.max(start, held);
      }
      from.put(tp, Math.min(start, committed.get(tp)));
      consumer.seek(tp, from.get(tp));
    }
    return from;
  }

  /**
   * Reads everything before the committed offsets (and whatever comes after it along the way).
   *
   * @param checkRunning throws when the trainer is asked to stop
   */
  void rebuild(Duration timeout, Runnable checkRunning) {
    long deadline = System.nanoTime() + timeout.toNanos() * 10;
    while (!reached(committed)) {
      checkRunning.run();
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "could not re-read the input up to the committed offsets in time");
      }
      poll();
    }
  }

  /** Reads and ingests what is there ({@link ComparisonGroupReader#poll}). */
  void poll() {
    reader.poll(
        r -> r.offset() < committed.get(new TopicPartition(r.topic(), r.partition())),
        this::ingest);
  }

  /**
   * A group read: new input waits for a round; history goes back into the eval set, or into the
   * buffer unless quarantined.
   */
  private void ingest(EncodedGroup encoded, boolean history) {
    newestPolicyVersion = Math.max(newestPolicyVersion, encoded.newestPolicyVersion());
    if (!history) {
      pending.add(encoded);
      if (encoded.split() != DataSplit.EVAL && firstWaitingNanos == 0) {
        firstWaitingNanos = System.nanoTime();
      }
    } else if (encoded.split() == DataSplit.EVAL) {
      evalSet.add(encoded);
    } else if (!rejectedInput.contains(encoded.partition(), encoded.offset())) {
      buffer.add(encoded);
    }
  }

  /**
   * Round trigger: fresh (non-stale) train groups are waiting, the eval set (with the pending eval
   * groups) holds {@code min-eval-groups}, and either {@code round-min-groups} are waiting or the
   * oldest has waited {@code round-max-wait}.
   */
  boolean roundDue() {
    int fresh = 0;
    int pendingEval = 0;
    for (EncodedGroup g : pending) {
      if (g.split() == DataSplit.EVAL) {
        pendingEval++;
      } else if (!stale(g)) {
        fresh++;
      }
    }
    if (fresh == 0 || evalSet.size() + pendingEval < config.getMinEvalGroups()) {
      return false;
    }
    boolean waitedLongEnough =
        firstWaitingNanos != 0
            && System.nanoTime() - firstWaitingNanos >= config.getRoundMaxWait().toNanos();
    return fresh >= config.getRoundMinGroups() || waitedLongEnough;
  }

  /** The consumer's positions now: the cut a new round's input ends at. */
  Map<TopicPartition, Long> positions() {
    Map<TopicPartition, Long> cut = new HashMap<>();
    for (TopicPartition tp : partitions) {
      cut.put(tp, consumer.position(tp));
    }
    return cut;
  }

  /** Whether the consumer has read up to {@code target} on every partition. */
  boolean reached(Map<TopicPartition, Long> target) {
    for (TopicPartition tp : partitions) {
      if (consumer.position(tp) < target.getOrDefault(tp, 0L)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The round's input: every pending group before {@code until}, eval-split groups moved into the
   * eval set, the train-split ones split into fresh and stale (sorted, so a resumed round sees the
   * same order).
   */
  RoundInput take(Map<TopicPartition, Long> until) {
    List<EncodedGroup> input = new ArrayList<>();
    for (EncodedGroup g : pending) {
      if (g.offset() < until.get(new TopicPartition(config.getComparisonsTopic(), g.partition()))) {
        input.add(g);
      }
    }
    List<EncodedGroup> newTrain = new ArrayList<>();
    List<EncodedGroup> staleDropped = new ArrayList<>();
    for (EncodedGroup g : input) {
      if (g.split() == DataSplit.EVAL) {
        evalSet.add(g);
      } else if (stale(g)) {
        staleDropped.add(g);
      } else {
        newTrain.add(g);
      }
    }
    newTrain.sort(EncodedGroup.ORDER);
    return new RoundInput(input, newTrain, staleDropped);
  }

  /** A seeded sample of {@code replay-fraction × newGroups} non-stale groups of the buffer. */
  List<EncodedGroup> replaySample(int newGroups, Random random) {
    List<EncodedGroup> pool = new ArrayList<>();
    for (EncodedGroup g : buffer.list()) {
      if (!stale(g)) {
        pool.add(g);
      }
    }
    int n = (int) Math.min(pool.size(), Math.round(config.getReplayFraction() * newGroups));
    // partial Fisher-Yates: the first n of a seeded shuffle
    for (int i = 0; i < n; i++) {
      Collections.swap(pool, i, i + random.nextInt(pool.size() - i));
    }
    return new ArrayList<>(pool.subList(0, n));
  }

  /** Every non-stale group of the buffer, oldest first (a fresh model's replay). */
  List<EncodedGroup> replayAll() {
    List<EncodedGroup> out = new ArrayList<>();
    for (EncodedGroup g : buffer.list()) {
      if (!stale(g)) {
        out.add(g);
      }
    }
    return out;
  }

  /** The offset ranges of {@code training.comparisons} a round ending at {@code until} consumed. */
  OffsetRanges lineage(Map<TopicPartition, Long> until) {
    OffsetRanges lineage = new OffsetRanges(config.getComparisonsTopic());
    for (TopicPartition tp : partitions) {
      lineage.cover(tp.partition(), committed.get(tp), until.get(tp));
    }
    return lineage;
  }

  /**
   * After the round's version and offsets committed: its input is history — replayable, or
   * quarantined when the gate found the version worse than its parent ({@link RewardGate}) — and
   * what arrived during the round waits from now on.
   */
  void committedRound(
      Map<TopicPartition, Long> until, RoundInput input, boolean replayable, OffsetRanges lineage) {
    committed.putAll(until);
    pending.removeAll(input.all());
    if (replayable) {
      buffer.addAll(input.newTrain());
    } else {
      lineage
          .toList()
          .forEach(
              r -> rejectedInput.cover(r.getPartition(), r.getFromOffset(), r.getUntilOffset()));
    }
    firstWaitingNanos =
        pending.stream().anyMatch(g -> g.split() != DataSplit.EVAL) ? System.nanoTime() : 0;
  }

  /** Per partition, where a rebuild must start to get the buffer and the eval set back. */
  Map<Integer, Long> historyFrom() {
    Map<Integer, Long> out = new TreeMap<>();
    for (TopicPartition tp : partitions) {
      out.put(tp.partition(), committed.get(tp));
    }
    buffer.earliestOffsets().forEach((p, o) -> out.merge(p, o, Math::min));
    evalSet.earliestOffsets().forEach((p, o) -> out.merge(p, o, Math::min));
    return out;
  }

  private boolean stale(EncodedGroup g) {
    return config.getMaxPolicyStaleness() >= 0
        && g.newestPolicyVersion() >= 0
        && g.newestPolicyVersion() < newestPolicyVersion - config.getMaxPolicyStaleness();
  }

  List<TopicPartition> partitions() {
    return partitions;
  }

  /** Input offsets inside a published version (a copy). */
  Map<TopicPartition, Long> committed() {
    return new HashMap<>(committed);
  }

  /** The eval set: every eval-split group read, newest {@code eval-max-groups}. */
  List<EncodedGroup> evalGroups() {
    return evalSet.list();
  }

  int bufferedCount() {
    return buffer.size();
  }

  int evalCount() {
    return evalSet.size();
  }

  int pendingCount() {
    return pending.size();
  }
}
