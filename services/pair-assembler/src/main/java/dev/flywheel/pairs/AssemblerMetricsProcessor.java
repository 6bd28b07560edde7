package dev.flywheel.pairs;

import dev.flywheel.events.TrainingMetrics;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Single task behind a one-partition topic: keeps the latest cumulative counters of every assembler
 * task and, every {@code metrics-interval} of wall-clock time when anything changed, publishes
 * their sum to {@code training.metrics} as two records of source {@code pair-assembler}: phase
 * {@code agreement} (inter-annotator agreement, the reward model's ceiling) and phase {@code pairs}
 * (throughput and outcomes). Counters arrive as totals, not deltas, so a re-sent update never
 * counts twice.
 */
final class AssemblerMetricsProcessor
    implements Processor<byte[], Counters, String, TrainingMetrics> {

  static final String TASK_TOTALS = "pa-task-totals";

  private final PairAssemblerConfig config;
  private ProcessorContext<String, TrainingMetrics> context;
  private KeyValueStore<String, Counters> totals;
  private Counters lastPublished;
  private long lastPublishedAt;

  AssemblerMetricsProcessor(PairAssemblerConfig config) {
    this.config = config;
  }

  @Override
  public void init(ProcessorContext<String, TrainingMetrics> context) {
    this.context = context;
    this.totals = context.getStateStore(TASK_TOTALS);
    context.schedule(config.getMetricsInterval(), PunctuationType.WALL_CLOCK_TIME, this::publish);
  }

  @Override
  public void process(Record<byte[], Counters> record) {
    if (record.key() != null && record.value() != null) {
      totals.put(new String(record.key(), java.nio.charset.StandardCharsets.UTF_8), record.value());
    }
  }

  private void publish(long now) {
    Counters sum = new Counters();
    try (KeyValueIterator<String, Counters> it = totals.all()) {
      it.forEachRemaining(kv -> sum.addAll(kv.value));
    }
    if (sum.asMap().isEmpty() || sum.equals(lastPublished)) {
      return;
    }
    Instant at = Instant.ofEpochMilli(now);
    context.forward(
        new Record<>(PairAssemblerTopology.SERVICE, metrics(at, "agreement", agreement(sum)), now));
    context.forward(
        new Record<>(PairAssemblerTopology.SERVICE, metrics(at, "pairs", pairs(sum, now)), now));
    lastPublished = sum;
    lastPublishedAt = now;
  }

  static Map<String, Double> agreement(Counters c) {
    Agreement.Tally tally = c.tally();
    Map<String, Double> values = new LinkedHashMap<>();
    if (tally.strictPairsCompared() > 0) {
      values.put("agreement_rate", tally.agreementRate());
    }
    if (tally.pairsCompared() > 0) {
      values.put("agreement_rate_with_ties", tally.agreementRateWithTies());
    }
    values.put("pairs_compared", (double) tally.pairsCompared());
    values.put("strict_pairs_compared", (double) tally.strictPairsCompared());
    for (String name :
        new String[] {
          Counters.STRICT_AGREE,
          Counters.STRICT_DISAGREE,
          Counters.BOTH_TIED,
          Counters.TIE_MISMATCH,
          Counters.RANKING_PAIRS,
          Counters.MULTI_ANNOTATOR_PROMPTS
        }) {
      values.put(name, (double) c.get(name));
    }
    return values;
  }

  private Map<String, Double> pairs(Counters c, long now) {
    Map<String, Double> values = new LinkedHashMap<>();
    for (String name :
        new String[] {
          Counters.GROUPS,
          Counters.PAIRS,
          Counters.TRAIN_GROUPS,
          Counters.EVAL_GROUPS,
          Counters.DUPLICATES,
          Counters.ORPHANS,
          Counters.DEAD_LETTERS
        }) {
      values.put(name, (double) c.get(name));
    }
    if (lastPublished != null && now > lastPublishedAt) {
      double seconds = (now - lastPublishedAt) / 1000.0;
      values.put(
          "groups_per_s", (c.get(Counters.GROUPS) - lastPublished.get(Counters.GROUPS)) / seconds);
      values.put(
          "pairs_per_s", (c.get(Counters.PAIRS) - lastPublished.get(Counters.PAIRS)) / seconds);
    }
    return values;
  }

  private static TrainingMetrics metrics(Instant at, String phase, Map<String, Double> values) {
    return TrainingMetrics.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(at)
        .setSource(PairAssemblerTopology.SERVICE)
        .setPhase(phase)
        .setValues(new LinkedHashMap<>(values))
        .build();
  }
}
