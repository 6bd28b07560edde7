package dev.flywheel.pairs;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
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
    return forRegistry(registry, true);
  }

  /**
   * Serdes backed by one registry client; {@code autoRegister} ({@code
   * flywheel.registry.auto-register}): whether the outputs register their writer schema on first
   * use, else it must be registered already.
   */
  public static PairAssemblerSerdes forRegistry(
      SchemaRegistryClient registry, boolean autoRegister) {
    return new PairAssemblerSerdes(
        AvroSerde.forTopic(registry, Topics.CHAT_TRANSCRIPTS).deserializer(),
        AvroSerde.forTopic(registry, Topics.FEEDBACK_RANKINGS).deserializer(),
        new AvroSerde<>(registry, Topics.TRAINING_COMPARISONS.valueType(), autoRegister),
        new AvroSerde<>(registry, Topics.DEAD_LETTERS.valueType(), autoRegister),
        new AvroSerde<>(registry, Topics.TRAINING_METRICS.valueType(), autoRegister));
  }
}
