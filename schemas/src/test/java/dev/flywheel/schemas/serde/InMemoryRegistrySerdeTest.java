package dev.flywheel.schemas.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.schemas.schemaregistry.InMemorySchemaRegistryClient;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

/**
 * The serdes on an {@link InMemorySchemaRegistryClient}: handed over in the constructor or, as
 * Kafka instantiates serdes, through {@link AvroSerdeConfig#SCHEMA_REGISTRY_CLIENT}.
 */
class InMemoryRegistrySerdeTest {

  private static final String TOPIC = "feedback.rankings";

  /**
   * A closed port: a serde that used the URL instead of the client would fail with REGISTRY_ERROR.
   */
  private static final String DEAD_URL = "http://127.0.0.1:9";

  private static HumanRanking ranking() {
    return HumanRanking.newBuilder()
        .setEventId("evt-1")
        .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L))
        .setRankingId("rank-1")
        .setTranscriptId("t-1")
        .setAppId("app")
        .setTiers(List.of(new RankTier(List.of("r1")), new RankTier(List.of("r2", "r3"))))
        .setAnnotatorId("ann")
        .setAnnotatorPool(AnnotatorPool.TRAINING)
        .build();
  }

  @Test
  void configuredWithAClientInstanceTheSerdesUseItAndNotTheUrl() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    Map<String, Object> configs =
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_CLIENT, registry,
            AvroSerdeConfig.SCHEMA_REGISTRY_URL, DEAD_URL,
            AvroSerdeConfig.SPECIFIC_TYPE, HumanRanking.class.getName());
    AvroSerializer<HumanRanking> serializer = new AvroSerializer<>();
    serializer.configure(configs, false);
    AvroDeserializer<HumanRanking> deserializer = new AvroDeserializer<>();
    deserializer.configure(configs, false);

    byte[] bytes = serializer.serialize(TOPIC, ranking());
    assertEquals(1, WireFormat.schemaId(bytes).getAsInt(), "the first id of a fresh registry");
    assertEquals(List.of(1), registry.versions(TOPIC + "-value"));
    assertEquals(ranking(), deserializer.deserialize(TOPIC, bytes));
  }

  @Test
  void anAvroSerdeRoundTripsThroughTheInMemoryRegistry() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    AvroSerde<HumanRanking> serde = new AvroSerde<>(registry, HumanRanking.class, true);
    byte[] bytes = serde.serializer().serialize(TOPIC, ranking());
    assertEquals(ranking(), serde.deserializer().deserialize(TOPIC, bytes));
  }

  @Test
  void aClientEntryThatIsNotAClientIsRefusedNamingTheKey() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new AvroSerializer<HumanRanking>()
                    .configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_CLIENT, "in-memory"), false));
    assertTrue(e.getMessage().contains(AvroSerdeConfig.SCHEMA_REGISTRY_CLIENT), e.getMessage());
  }

  @Test
  void anUnknownSchemaIdIsReportedWithTheRegistryNamed() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    AvroSerdeException e =
        assertThrows(
            AvroSerdeException.class,
            () ->
                new AvroDeserializer<>(registry, HumanRanking.class)
                    .deserialize(TOPIC, new byte[] {0, 0, 0, 0, 7, 2}));
    assertEquals(AvroSerdeException.Problem.UNKNOWN_SCHEMA_ID, e.problem());
    assertEquals(7, e.schemaId());
    assertTrue(e.getMessage().contains(registry.baseUrl()), e.getMessage());
  }

  @Test
  void withoutAutoRegistrationOnlyARegisteredSchemaIsWritten() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    AvroSerializer<HumanRanking> serializer = new AvroSerializer<>(registry, false);
    AvroSerdeException e =
        assertThrows(AvroSerdeException.class, () -> serializer.serialize(TOPIC, ranking()));
    assertEquals(AvroSerdeException.Problem.SCHEMA_NOT_REGISTERED, e.problem());
    int id = registry.register(TOPIC + "-value", HumanRanking.getClassSchema());
    assertEquals(id, WireFormat.schemaId(serializer.serialize(TOPIC, ranking())).getAsInt());
  }

  @Test
  void anIncompatibleWriterSchemaIsRefusedAsTheRealRegistryRefusesIt() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    Schema v1 =
        new Schema.Parser()
            .parse(
                """
        {"type":"record","name":"Evt","namespace":"test","fields":[{"name":"a","type":"string"}]}""");
    Schema v2 =
        new Schema.Parser()
            .parse(
                """
        {"type":"record","name":"Evt","namespace":"test","fields":[{"name":"n","type":"int"}]}""");
    AvroSerializer<GenericRecord> serializer = new AvroSerializer<>(registry, true);
    GenericRecord first = new GenericData.Record(v1);
    first.put("a", "x");
    serializer.serialize("evolve", first);
    GenericRecord second = new GenericData.Record(v2);
    second.put("n", 1);
    AvroSerdeException e =
        assertThrows(AvroSerdeException.class, () -> serializer.serialize("evolve", second));
    assertEquals(AvroSerdeException.Problem.SCHEMA_NOT_REGISTERED, e.problem());
    assertTrue(e.getMessage().contains("incompatible"), e.getMessage());
  }
}
