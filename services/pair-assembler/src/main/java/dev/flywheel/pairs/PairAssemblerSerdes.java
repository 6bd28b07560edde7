package dev.flywheel.pairs;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.schemas.registry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroSerde;
import dev.flywheel.schemas.topics.Topics;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;

/**
 * The event serdes the topology uses, handed to it from outside so that tests can build them on the
 * registry they run against. All are the Confluent-wire Avro serde of {@code schemas/}.
 */
public record PairAssemblerSerdes(
    Deserializer<ChatTranscript> transcripts,
    Deserializer<HumanRanking> rankings,
    Serde<ComparisonGroup> groups,
    Serde<DeadLetter> deadLetters,
    Serde<TrainingMetrics> metrics) {

  /** Serdes backed by one registry client (outputs auto-register their schema). */
  public static PairAssemblerSerdes forRegistry(SchemaRegistryClient registry) {
    return new PairAssemblerSerdes(
        AvroSerde.forTopic(registry, Topics.CHAT_TRANSCRIPTS).deserializer(),
        AvroSerde.forTopic(registry, Topics.FEEDBACK_RANKINGS).deserializer(),
        AvroSerde.forTopic(registry, Topics.TRAINING_COMPARISONS),
        AvroSerde.forTopic(registry, Topics.DEAD_LETTERS),
        AvroSerde.forTopic(registry, Topics.TRAINING_METRICS));
  }
}
