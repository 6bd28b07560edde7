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
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.VersionLedger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each record the {@link InputFeed} polls becomes: decoded with its topic's schema, checked,
 * and put where the trainer reads it — a demonstration into memory here (de-duplicated by event id,
 * the most recent {@code max-demonstrations}), a transcript's prompt into the {@link PromptPool}, a
 * comparison group into the {@link ComparisonBuffer}, a version into its {@link VersionLedger} —
 * or, when it cannot be decoded or used, dead-lettered with the reason. Where to read from, the
 * positions and the dead-letter watermark are the feed's.
 *
 * <p>A schema-registry outage is not bad input: {@link #apply} throws {@link RegistryUnavailable}
 * and leaves the record for the feed to read again. Not thread-safe (the training loop owns it).
 */
final class InputRecords {

  private static final Logger LOG = LoggerFactory.getLogger(InputRecords.class);

  /** A demonstration and where it was read. */
  record StoredDemo(int partition, long offset, String eventId, SftTrainer.Demo demo) {}

  private final PolicyTrainerConfig config;
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

  /**
   * Event ids of the demonstrations in memory: a redelivered event (a client's retry through
   * another gateway replica) is counted once.
   */
  private final java.util.Set<String> demoEventIds = new java.util.HashSet<>();

  private final Map<Integer, Long> firstDemoOffset = new TreeMap<>();

  /**
   * @param comparisons where the comparison groups go; null: {@code training.comparisons} records
   *     are not applied (every algorithm but DPO)
   */
  InputRecords(
      KafkaSettings kafka,
      PolicyTrainerConfig config,
      VersionLedger<PolicyVersion> policies,
      VersionLedger<RewardModelVersion> rewards,
      PromptPool prompts,
      ComparisonBuffer comparisons,
      PolicyTrainerStatus status,
      DeadLetterWriter deadLetters) {
    this.config = config;
    this.policies = policies;
    this.rewards = rewards;
    this.prompts = prompts;
    this.comparisons = comparisons;
    this.status = status;
    this.deadLetters = deadLetters;
    demoValues = kafka.valueDeserializer(Demonstration.class);
    transcriptValues = kafka.valueDeserializer(ChatTranscript.class);
    comparisonValues = kafka.valueDeserializer(ComparisonGroup.class);
    policyValues = kafka.valueDeserializer(PolicyVersion.class);
    rewardValues = kafka.valueDeserializer(RewardModelVersion.class);
  }

  /**
   * Applies one polled record by its topic (records of other topics are ignored).
   *
   * @throws RegistryUnavailable when the record could not be decoded for a schema-registry outage:
   *     nothing of it was applied or dead-lettered
   */
  void apply(ConsumerRecord<String, byte[]> record) {
    String topic = record.topic();
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
  }

  /** The demonstrations in memory, oldest first. */
  List<StoredDemo> demos() {
    return List.copyOf(demos);
  }

  int demoCount() {
    return demos.size();
  }

  /** First demonstration offset held per partition (where the lineage range starts). */
  Map<Integer, Long> firstDemoOffsets() {
    return new TreeMap<>(firstDemoOffset);
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

  /** The registry could not be asked for a record's schema: transient, the record is read again. */
  static final class RegistryUnavailable extends RuntimeException {
    RegistryUnavailable(RuntimeException cause) {
      super(cause);
    }

    static void rethrowIfOutage(RuntimeException e) {
      if (AvroSerdeException.isRegistryOutage(e)) {
        throw new RegistryUnavailable(e);
      }
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
}
