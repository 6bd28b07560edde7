package dev.flywheel.schemas.schemaregistry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.serde.WireFormat;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * What every {@link SchemaRegistryClient} must do, run against each implementation: {@code
 * InMemorySchemaRegistryClientContractTest} here, and against the real registry the project starts
 * (Apicurio, through {@code FlywheelInfraExtension}) in {@code services/pair-assembler}'s {@code
 * HttpSchemaRegistryClientContractTest}, whose topology tests rely on the in-memory client behaving
 * like the real one. (The schemas module cannot start the real registry itself: the launcher lives
 * in infra, which depends on this module.)
 *
 * <p>The real registry is shared by every test of its JVM, so each test uses subjects and record
 * names of its own and assumes nothing about absolute ids.
 */
public abstract class SchemaRegistryClientContract {

  /**
   * A client of the registry under test; every call within one test reaches the same registry. An
   * HTTP implementation returns a new client each time, so that a second call's answers come from
   * the registry, not from the first client's cache.
   */
  protected abstract SchemaRegistryClient client();

  private final String run = "c" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

  private String subject(String label) {
    return run + "-" + label + "-value";
  }

  /** A record schema named for this test, with the given fields (JSON). */
  private Schema record(String name, String fields) {
    return new Schema.Parser()
        .parse(
            "{\"type\":\"record\",\"name\":\""
                + name
                + "\",\"namespace\":\"contract."
                + run
                + "\",\"fields\":["
                + fields
                + "]}");
  }

  private Schema v1() {
    return record("Probe", "{\"name\":\"a\",\"type\":\"string\"}");
  }

  /** v1 plus a field with a default: BACKWARD compatible with v1. */
  private Schema v2() {
    return record(
        "Probe",
        "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"long\",\"default\":0}");
  }

  /** v1 plus a field without a default: cannot read v1 data. */
  private Schema addedWithoutDefault() {
    return record(
        "Probe", "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"long\"}");
  }

  @Test
  void aSchemaRegisteredTwiceUnderASubjectKeepsItsIdAndAddsNoVersion() {
    SchemaRegistryClient registry = client();
    String subject = subject("twice");
    int first = registry.register(subject, v1());
    assertTrue(first > 0, "ids are positive: " + first);
    assertEquals(first, registry.register(subject, v1()));
    assertEquals(first, client().register(subject, v1()), "asked again, of the registry itself");
    assertEquals(Optional.of(first), client().lookup(subject, v1()));
    assertEquals(List.of(1), registry.versions(subject));
  }

  @Test
  void theSameSchemaUnderTwoSubjectsHasOneId() {
    SchemaRegistryClient registry = client();
    int underA = registry.register(subject("a"), v1());
    int underB = registry.register(subject("b"), v1());
    assertEquals(underA, underB, "ids are global, one per schema");
    assertEquals(List.of(1), registry.versions(subject("a")));
    assertEquals(List.of(1), registry.versions(subject("b")));
  }

  @Test
  void anEvolvedSchemaGetsANewIdAndTheNextVersion() {
    SchemaRegistryClient registry = client();
    String subject = subject("evolve");
    int id1 = registry.register(subject, v1());
    int id2 = registry.register(subject, v2());
    assertNotEquals(id1, id2);
    assertEquals(List.of(1, 2), registry.versions(subject));
    assertEquals(
        id1, client().register(subject, v1()), "an older version again: its id, no new version");
    assertEquals(List.of(1, 2), registry.versions(subject));
    assertEquals(v1(), registry.schemaById(id1));
    assertEquals(v2(), registry.schemaById(id2));
  }

  @Test
  void lookupFindsOnlyWhatTheSubjectHolds() {
    SchemaRegistryClient registry = client();
    String subject = subject("lookup");
    String other = subject("lookup-other");
    assertEquals(Optional.empty(), registry.lookup(subject, v1()), "unknown subject");
    int id = registry.register(subject, v1());
    assertEquals(Optional.of(id), registry.lookup(subject, v1()));
    assertEquals(Optional.empty(), registry.lookup(subject, v2()), "a schema it does not hold");
    registry.register(other, record("Other", "{\"name\":\"x\",\"type\":\"int\"}"));
    assertEquals(
        Optional.empty(), registry.lookup(other, v1()), "held by another subject, not this one");
  }

  @Test
  void anUnknownIdIsNotFound() {
    SchemaRegistryException e =
        assertThrows(
            SchemaRegistryException.class, () -> client().schemaById(Integer.MAX_VALUE - 11));
    assertTrue(e.isNotFound(), e.getMessage());
    assertEquals(404, e.httpStatus());
    assertEquals(SchemaRegistryException.SCHEMA_NOT_FOUND, e.errorCode());
  }

  @Test
  void theVersionsOfAnUnknownSubjectAreNotFound() {
    SchemaRegistryException e =
        assertThrows(
            SchemaRegistryException.class, () -> client().versions(subject("never-registered")));
    assertTrue(e.isNotFound(), e.getMessage());
    assertEquals(SchemaRegistryException.SUBJECT_NOT_FOUND, e.errorCode());
  }

  @Test
  void aSubjectWithoutVersionsAcceptsAnySchema() {
    assertTrue(client().testCompatibility(subject("empty"), v1()).compatible());
  }

  @Test
  void compatibilityIsBackwardAndAnIncompatibleSchemaIsRefusedWith409() {
    SchemaRegistryClient registry = client();
    String subject = subject("compat");
    int id1 = registry.register(subject, v1());

    assertFalse(registry.testCompatibility(subject, addedWithoutDefault()).compatible());
    assertFalse(
        registry
            .testCompatibility(subject, record("Probe", "{\"name\":\"a\",\"type\":\"int\"}"))
            .compatible(),
        "a changed field type");
    IncompatibleSchemaException e =
        assertThrows(
            IncompatibleSchemaException.class,
            () -> registry.register(subject, addedWithoutDefault()));
    assertEquals(409, e.httpStatus());
    assertEquals(409, e.errorCode(), "Confluent's error code for an incompatible schema");
    assertEquals(subject, e.subject());
    assertTrue(e.getMessage().contains(subject), e.getMessage());
    assertEquals(List.of(1), registry.versions(subject), "nothing registered");
    assertEquals(Optional.empty(), registry.lookup(subject, addedWithoutDefault()));

    assertTrue(registry.testCompatibility(subject, v2()).compatible(), "a field with a default");
    assertTrue(
        registry.testCompatibility(subject, record("Probe", "")).compatible(),
        "a removed field: the new reader ignores it");
    assertNotEquals(id1, registry.register(subject, v2()));
  }

  @Test
  void backwardIsCheckedAgainstTheLatestVersionOnlyNotTransitively() {
    SchemaRegistryClient registry = client();
    String subject = subject("latest");
    registry.register(subject, v1());
    registry.register(subject, v2());
    // reads v2's data (which has b) but not v1's: BACKWARD accepts it, BACKWARD_TRANSITIVE would
    // not
    assertTrue(registry.testCompatibility(subject, addedWithoutDefault()).compatible());
    registry.register(subject, addedWithoutDefault());
    assertEquals(List.of(1, 2, 3), registry.versions(subject));
  }

  @Test
  void aSerdeRoundTripWritesTheRegisteredIdAndReadsTheRecordBack() {
    SchemaRegistryClient registry = client();
    String topic = run + "-rankings";
    HumanRanking ranking =
        HumanRanking.newBuilder()
            .setEventId("evt-1")
            .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L))
            .setRankingId("rank-1")
            .setTranscriptId("t-1")
            .setAppId("app")
            .setTiers(List.of(new RankTier(List.of("r1")), new RankTier(List.of("r2"))))
            .setAnnotatorId("ann")
            .setAnnotatorPool(AnnotatorPool.TRAINING)
            .build();
    byte[] bytes = new AvroSerializer<HumanRanking>(registry, true).serialize(topic, ranking);
    int id = registry.lookup(topic + "-value", HumanRanking.getClassSchema()).orElseThrow();
    assertEquals(id, WireFormat.schemaId(bytes).getAsInt());
    assertEquals(
        ranking, new AvroDeserializer<>(registry, HumanRanking.class).deserialize(topic, bytes));
  }
}
