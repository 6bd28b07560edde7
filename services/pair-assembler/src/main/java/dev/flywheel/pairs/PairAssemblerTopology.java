package dev.flywheel.pairs;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import java.util.Map;
import java.util.Properties;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * The pair assembler's topology: chat transcripts + human rankings in, one comparison group per
 * valid ranking out, dead letters for everything else, agreement and throughput figures on the
 * side.
 *
 * <pre>
 *  chat.transcripts  (bytes) ─► decode ─┬─ ok ──────────────────────────────────────────┐
 *                                       └─ misrouted ─► [transcripts-rekeyed] ─► decode ─┤
 *  feedback.rankings (bytes) ─► decode ─┬─ ok ──────────────────────────────────────────┤
 *                                       └─ misrouted ─► [rankings-rekeyed] ─► decode ────┤
 *                                                                                        ▼
 *                                                                     assembler (store pa-state)
 *                                                                                        │
 *                 ┌────────────────────────────────────┬─────────────────────────────────┤
 *                 ▼                                    ▼                                 ▼
 *   training.comparisons (key promptKey)   flywheel.dead-letters (raw key)   [task-totals, 1 partition]
 *                                                                                        ▼
 *                                                      metrics publisher (store pa-task-totals)
 *                                                                                        ▼
 *                                                                    training.metrics (key pair-assembler)
 * </pre>
 *
 * Inputs are read as bytes and decoded inside the topology, so that an undecodable record is a dead
 * letter with its raw bytes and offset, written in the exactly-once transaction. Both input topics
 * are keyed by transcriptId and co-partitioned, so the assembler and its stores sit in one
 * sub-topology with one task per partition; the re-keying topics only carry records keyed or
 * partitioned wrongly.
 */
public final class PairAssemblerTopology {

  /** The {@code service} on dead letters and the {@code source} of published metrics. */
  public static final String SERVICE = "pair-assembler";

  private final PairAssemblerConfig config;
  private final Properties streamsProperties;
  private final int inputPartitions;
  private final PairAssemblerSerdes serdes;
  private final PairAssemblerMetrics metrics;

  /**
   * @param streamsProperties the Kafka Streams configuration ({@link StreamsSettings#properties}),
   *     for the topology-level settings
   * @param inputPartitions partition count of the input topics, to check that each record sits on
   *     the partition its key hashes to; 0 = do not check
   */
  public PairAssemblerTopology(
      PairAssemblerConfig config,
      Properties streamsProperties,
      int inputPartitions,
      PairAssemblerSerdes serdes,
      PairAssemblerMetrics metrics) {
    this.config = config;
    this.streamsProperties = streamsProperties;
    this.inputPartitions = inputPartitions;
    this.serdes = serdes;
    this.metrics = metrics;
  }

  public Topology build() {
    StreamsBuilder builder =
        new StreamsBuilder(new TopologyConfig(new StreamsConfig(streamsProperties)));
    builder.addStateStore(store(AssemblerState.STORE, Serdes.Bytes(), Serdes.ByteArray()));
    builder.addStateStore(
        store(AssemblerMetricsProcessor.TASK_TOTALS, Serdes.String(), StoreSerdes.counters()));

    KStream<String, Inbound> transcripts =
        decoded(
            builder,
            Topics.CHAT_TRANSCRIPTS,
            "transcripts",
            serdes.transcripts(),
            ChatTranscript::getTranscriptId,
            Inbound.Transcript::new);
    KStream<String, Inbound> rankings =
        decoded(
            builder,
            Topics.FEEDBACK_RANKINGS,
            "rankings",
            serdes.rankings(),
            HumanRanking::getTranscriptId,
            Inbound.Ranking::new);

    KStream<byte[], Outbound> assembled =
        transcripts
            .merge(rankings, Named.as("inputs"))
            .process(
                () ->
                    new AssemblerProcessor(
                        config, serdes.transcripts(), serdes.rankings(), metrics),
                Named.as("assembler"),
                AssemblerState.STORE);

    assembled
        .split(Named.as("out-"))
        .branch(
            (k, v) -> v instanceof Outbound.Group,
            Branched.withConsumer(
                groups ->
                    groups
                        .mapValues(v -> ((Outbound.Group) v).group(), Named.as("group-values"))
                        .to(
                            Topics.TRAINING_COMPARISONS.name(),
                            Produced.with(Serdes.ByteArray(), serdes.groups())
                                .withName("comparisons-sink")),
                "groups"))
        .branch(
            (k, v) -> v instanceof Outbound.Dead,
            Branched.withConsumer(
                dead ->
                    dead.mapValues(
                            v -> ((Outbound.Dead) v).letter(), Named.as("dead-letter-values"))
                        .to(
                            Topics.DEAD_LETTERS.name(),
                            Produced.with(Serdes.ByteArray(), serdes.deadLetters())
                                .withName("dead-letters-sink")),
                "dead"))
        .branch(
            (k, v) -> v instanceof Outbound.TaskTotals,
            Branched.withConsumer(
                totals ->
                    totals
                        .mapValues(
                            v -> ((Outbound.TaskTotals) v).counters(),
                            Named.as("task-totals-values"))
                        .repartition(
                            Repartitioned.<byte[], Counters>with(
                                    Serdes.ByteArray(), StoreSerdes.counters())
                                .withName("task-totals")
                                .withNumberOfPartitions(1))
                        .process(
                            () -> new AssemblerMetricsProcessor(config),
                            Named.as("metrics-publisher"),
                            AssemblerMetricsProcessor.TASK_TOTALS)
                        .to(
                            Topics.TRAINING_METRICS.name(),
                            Produced.with(Serdes.String(), serdes.metrics())
                                .withName("metrics-sink")),
                "totals"))
        .noDefaultBranch();
    return builder.build();
  }

  /**
   * Raw records of {@code topic} decoded; wrongly keyed ones come back through a re-keying topic.
   */
  private <T> KStream<String, Inbound> decoded(
      StreamsBuilder builder,
      TopicSpec<?> topic,
      String name,
      Deserializer<T> deserializer,
      Function<T, String> idOf,
      BiFunction<T, SourceRef, Inbound> wrap) {
    int partitions = inputPartitions;
    ProcessorSupplier<Object, byte[], String, Inbound> direct =
        () -> new InputDecoder<>(deserializer, idOf, wrap, false, partitions);
    ProcessorSupplier<Object, byte[], String, Inbound> behindRekeying =
        () -> new InputDecoder<>(deserializer, idOf, wrap, true, 0);
    Map<String, KStream<String, Inbound>> branches =
        builder.stream(
                topic.name(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(name + "-source"))
            .process(direct, Named.as(name + "-decoder"))
            .split(Named.as(name + "-"))
            .branch((k, v) -> v instanceof Inbound.Misrouted, Branched.as("misrouted"))
            .defaultBranch(Branched.as("checked"));
    Repartitioned<String, byte[]> rekeyed =
        Repartitioned.<String, byte[]>with(Serdes.String(), Serdes.ByteArray())
            .withName(name + "-rekeyed");
    if (partitions > 0) {
      rekeyed = rekeyed.withNumberOfPartitions(partitions);
    }
    KStream<String, Inbound> fixed =
        branches
            .get(name + "-misrouted")
            .mapValues(
                v -> ((Inbound.Misrouted) v).source().rawValue(),
                Named.as(name + "-misrouted-bytes"))
            .repartition(rekeyed)
            .process(behindRekeying, Named.as(name + "-rekeyed-decoder"));
    return branches.get(name + "-checked").merge(fixed, Named.as(name + "-all"));
  }

  private static <K, V> StoreBuilder<?> store(String name, Serde<K> keySerde, Serde<V> valueSerde) {
    KeyValueBytesStoreSupplier supplier = Stores.persistentKeyValueStore(name);
    return Stores.keyValueStoreBuilder(supplier, keySerde, valueSerde).withCachingEnabled();
  }
}
