package dev.flywheel.policy.service;

import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutSample;
import dev.flywheel.modelevents.RolloutEvents;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.Rollout;
import dev.flywheel.policy.train.ScoredRollout;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.trainerkit.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The response side of {@link WorkerRolloutSource}: one round's rollout batches as the learner
 * receives them from the batches topic. Its one job is deciding which batch answers an iteration
 * and reading it: it keeps this learner's decodable, well-formed batches, one per iteration (of
 * two, the one sampled from the fresher weights), until the iteration's turn, counts the rest as
 * duplicates (a second answer, or one for an iteration already trained on) or invalid, and turns a
 * batch into the rollout the trainer trains on. Not thread-safe.
 */
final class RolloutBatchInbox implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(RolloutBatchInbox.class);
  private static final Duration POLL = Duration.ofMillis(100);

  private final WorkerRolloutSource.Round round;
  private final KafkaConsumer<String, byte[]> consumer;
  private final AvroDeserializer<RolloutBatch> batches;
  private final Map<Integer, ConsumerRecord<String, RolloutBatch>> arrived = new TreeMap<>();
  private final Set<Integer> consumed = new HashSet<>();
  private long duplicates;
  private long invalid;

  RolloutBatchInbox(KafkaSettings kafka, RolloutConfig config, WorkerRolloutSource.Round round) {
    this.round = round;
    consumer =
        new KafkaConsumer<>(
            kafka.consumerConfig("policy-trainer-rollouts", null),
            new StringDeserializer(),
            new ByteArrayDeserializer());
    batches = kafka.valueDeserializer(RolloutBatch.class);
    List<TopicPartition> partitions =
        consumer.partitionsFor(config.getBatchesTopic(), Duration.ofSeconds(30)).stream()
            .map(p -> new TopicPartition(p.topic(), p.partition()))
            .toList();
    consumer.assign(partitions);
    // the round's batches, including those answered for an earlier process of a resumed round
    long since = round.startedAt().minusSeconds(60).toEpochMilli();
    Map<TopicPartition, Long> times = new HashMap<>();
    partitions.forEach(p -> times.put(p, since));
    Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(times);
    Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
    for (TopicPartition p : partitions) {
      OffsetAndTimestamp o = found.get(p);
      consumer.seek(p, o != null ? o.offset() : end.get(p));
    }
  }

  /** Iteration {@code iteration}'s batch held so far, no longer held; null when none arrived. */
  ConsumerRecord<String, RolloutBatch> take(int iteration) {
    return arrived.remove(iteration);
  }

  /** Marks iteration {@code iteration} trained on: any later batch of it is a duplicate. */
  void trainedOn(int iteration) {
    consumed.add(iteration);
  }

  /** Receives what arrives within one short poll. */
  void poll() {
    for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
      receive(r);
    }
  }

  private void receive(ConsumerRecord<String, byte[]> raw) {
    RolloutBatch batch;
    try {
      batch = batches.deserialize(raw.topic(), raw.value());
    } catch (RuntimeException e) {
      LOG.warn(
          "undecodable rollout batch at {}-{}@{}: {}",
          raw.topic(),
          raw.partition(),
          raw.offset(),
          e.getMessage());
      return;
    }
    if (!round.learnerId().equals(batch.getLearnerId())) {
      return;
    }
    int iteration = round.iterationOf(batch.getRequestId());
    if (iteration < 0) {
      return;
    }
    String problem = problemOf(batch);
    if (problem != null) {
      invalid++;
      LOG.warn("rollout batch {} ignored: {}", batch.getRequestId(), problem);
      return;
    }
    if (consumed.contains(iteration)) {
      duplicates++;
      return;
    }
    ConsumerRecord<String, RolloutBatch> held = arrived.get(iteration);
    if (held != null) {
      // two answers for one iteration: keep the one from the fresher weights
      duplicates++;
      if (held.value().getLearnerStep() >= batch.getLearnerStep()) {
        return;
      }
    }
    arrived.put(
        iteration,
        new ConsumerRecord<>(raw.topic(), raw.partition(), raw.offset(), raw.key(), batch));
  }

  /** Why a batch cannot be trained on, or null. */
  private String problemOf(RolloutBatch batch) {
    int k = round.samplesPerPrompt();
    if (batch.getPrompts().isEmpty()) {
      return "no prompts";
    }
    if (batch.getSamples().size() != batch.getPrompts().size() * k) {
      return batch.getSamples().size()
          + " samples for "
          + batch.getPrompts().size()
          + " prompts x K="
          + k;
    }
    for (int row = 0; row < batch.getSamples().size(); row++) {
      RolloutSample s = batch.getSamples().get(row);
      if (s.getPromptIndex() != row / k) {
        return "sample " + row + " has promptIndex " + s.getPromptIndex() + ", expected " + row / k;
      }
      if (s.getLogProbs().size() != s.getTokens().size()) {
        return "sample "
            + row
            + " has "
            + s.getLogProbs().size()
            + " log-probs for "
            + s.getTokens().size()
            + " tokens";
      }
      if (!Float.isFinite(s.getScore())) {
        return "sample " + row + " has score " + s.getScore();
      }
    }
    return null;
  }

  /**
   * A batch as the trainer trains on it: its rows in order, each sample's score less {@code
   * missing-eos-penalty} where its response was cut off before EOS.
   */
  ScoredRollout scored(RolloutBatch batch) {
    int k = round.samplesPerPrompt();
    List<int[]> prompts = new ArrayList<>(batch.getSamples().size());
    List<int[]> responses = new ArrayList<>(batch.getSamples().size());
    List<float[]> logProbs = new ArrayList<>(batch.getSamples().size());
    float[] scores = new float[batch.getSamples().size()];
    List<int[]> distinct = RolloutEvents.fromPrompts(batch.getPrompts());
    for (int row = 0; row < batch.getSamples().size(); row++) {
      RolloutSample s = batch.getSamples().get(row);
      prompts.add(distinct.get(s.getPromptIndex()));
      responses.add(RolloutEvents.unboxed(s.getTokens()));
      logProbs.add(RolloutEvents.logProbs(s));
      scores[row] = s.getScore();
    }
    Rollout rollout = Rollout.of(prompts, responses, logProbs);
    for (int r = 0; r < scores.length; r++) {
      if (!rollout.stopped(r)) {
        scores[r] -= (float) round.missingEosPenalty();
      }
    }
    return new ScoredRollout(rollout, scores, k);
  }

  long duplicates() {
    return duplicates;
  }

  long invalid() {
    return invalid;
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(10));
  }
}
