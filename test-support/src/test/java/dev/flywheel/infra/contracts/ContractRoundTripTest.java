package dev.flywheel.infra.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.HumanRanking;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.IncompatibleSchemaException;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.schemas.serde.AvroSerdeException.Problem;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The contracts against a real KRaft broker and a real (Apicurio, Confluent-compatible) registry.
 */
@ExtendWith(FlywheelInfraExtension.class)
class ContractRoundTripTest {

  private static FlywheelInfra infra;
  private static SchemaRegistryClient registry;

  @BeforeAll
  static void setUp(FlywheelInfra shared) {
    infra = shared;
    registry = new HttpSchemaRegistryClient(infra.registryUrl());
  }

  @Test
  void everyEventTypeRoundTripsThroughBrokerAndRegistryInTheConfluentWireFormat() throws Exception {
    Map<TopicSpec<?>, SpecificRecord> samples = ContractSamples.all();
    assertEquals(Topics.ALL.size(), samples.size(), "a sample for every catalogue topic");
    Map<String, Object> producerProps = infra.producerProps();
    // configured the way services do it: by class name and config keys, as Kafka instantiates them
    producerProps.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.registryUrl());
    producerProps.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    producerProps.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroSerializer.class);
    try (KafkaProducer<String, SpecificRecord> producer = new KafkaProducer<>(producerProps)) {
      for (Map.Entry<TopicSpec<?>, SpecificRecord> sample : samples.entrySet()) {
        producer
            .send(new ProducerRecord<>(sample.getKey().name(), "round-trip", sample.getValue()))
            .get();
      }
    }
    for (Map.Entry<TopicSpec<?>, SpecificRecord> sample : samples.entrySet()) {
      TopicSpec<?> topic = sample.getKey();
      ConsumerRecord<String, byte[]> raw = readLast(topic.name());
      int registeredId = registry.lookup(topic.valueSubject(), topic.valueSchema()).orElseThrow();
      assertEquals(0, raw.value()[0], topic.name() + ": magic byte");
      assertEquals(
          registeredId, ByteBuffer.wrap(raw.value(), 1, 4).getInt(), topic.name() + ": schema id");
      assertEquals(
          topic.valueSchema(),
          registry.schemaById(registeredId),
          topic.name() + ": registered schema");

      AvroDeserializer<?> deserializer = new AvroDeserializer<>(registry, topic.valueType());
      Object decoded = deserializer.deserialize(topic.name(), raw.value());
      assertEquals(sample.getValue(), decoded, topic.name() + ": value after the round trip");
    }
  }

  @Test
  void registryRejectsAnIncompatibleSchemaWith409AndTheClientSaysWhy() {
    String subject = infra.uniqueName("compat") + "-value";
    Schema v1 =
        new Schema.Parser()
            .parse(
                """
        {"type":"record","name":"Probe","namespace":"test","fields":[{"name":"a","type":"string"}]}""");
    Schema incompatible =
        new Schema.Parser()
            .parse(
                """
        {"type":"record","name":"Probe","namespace":"test","fields":[{"name":"a","type":"string"},
          {"name":"b","type":"long"}]}""");
    Schema compatible =
        new Schema.Parser()
            .parse(
                """
        {"type":"record","name":"Probe","namespace":"test","fields":[{"name":"a","type":"string"},
          {"name":"b","type":"long","default":0}]}""");
    registry.register(subject, v1);

    SchemaRegistryClient.CompatibilityResult verdict =
        registry.testCompatibility(subject, incompatible);
    assertFalse(verdict.compatible());
    assertTrue(registry.testCompatibility(subject, compatible).compatible());

    IncompatibleSchemaException e =
        assertThrows(
            IncompatibleSchemaException.class, () -> registry.register(subject, incompatible));
    assertEquals(409, e.httpStatus());
    assertTrue(e.getMessage().contains(subject), e.getMessage());
    registry.register(subject, compatible);
    assertEquals(2, registry.versions(subject).size());
  }

  @Test
  void serializerSurfacesAnIncompatibleSchemaAsATypedError() {
    String topic = infra.uniqueName("evolve");
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
    serializer.configure(Map.of(), false);
    GenericRecord first = new GenericData.Record(v1);
    first.put("a", "x");
    serializer.serialize(topic, first);
    GenericRecord second = new GenericData.Record(v2);
    second.put("n", 1);
    AvroSerdeException e =
        assertThrows(AvroSerdeException.class, () -> serializer.serialize(topic, second));
    assertEquals(Problem.SCHEMA_NOT_REGISTERED, e.problem());
    assertTrue(e.getMessage().contains("incompatible"), e.getMessage());
  }

  @Test
  void withoutAutoRegistrationAnUnknownSchemaIsRefusedBeforeAnythingIsWritten() {
    String topic = infra.uniqueName("noreg");
    AvroSerializer<HumanRanking> serializer = new AvroSerializer<>(registry, false);
    serializer.configure(Map.of(), false);
    HumanRanking ranking = (HumanRanking) ContractSamples.all().get(Topics.FEEDBACK_RANKINGS);
    AvroSerdeException e =
        assertThrows(AvroSerdeException.class, () -> serializer.serialize(topic, ranking));
    assertEquals(Problem.SCHEMA_NOT_REGISTERED, e.problem());
    assertTrue(e.getMessage().contains(topic + "-value"), e.getMessage());
  }

  @Test
  void badBytesGiveTypedErrorsNamingTheProblem() {
    HumanRanking ranking = (HumanRanking) ContractSamples.all().get(Topics.FEEDBACK_RANKINGS);
    String topic = Topics.FEEDBACK_RANKINGS.name();
    AvroSerializer<HumanRanking> serializer = new AvroSerializer<>(registry, true);
    serializer.configure(Map.of(), false);
    byte[] good = serializer.serialize(topic, ranking);
    int id = ByteBuffer.wrap(good, 1, 4).getInt();
    AvroDeserializer<HumanRanking> deserializer =
        new AvroDeserializer<>(registry, HumanRanking.class);
    assertEquals(ranking, deserializer.deserialize(topic, good));

    byte[] unknownId = good.clone();
    ByteBuffer.wrap(unknownId).putInt(1, 987_654);
    assertProblem(Problem.UNKNOWN_SCHEMA_ID, "987654", deserializer, topic, unknownId);

    byte[] truncated = Arrays.copyOf(good, good.length / 2);
    assertProblem(Problem.MALFORMED_PAYLOAD, "ended before", deserializer, topic, truncated);

    byte[] trailing = Arrays.copyOf(good, good.length + 3);
    assertProblem(Problem.MALFORMED_PAYLOAD, "trailing bytes", deserializer, topic, trailing);

    // garbage after a valid header: random-looking bytes decoded with a real schema
    List<byte[]> garbage = new ArrayList<>();
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 200; i++) {
      byte[] body = new byte[1 + random.nextInt(64)];
      random.nextBytes(body);
      byte[] record =
          ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(id).put(body).array();
      garbage.add(record);
    }
    int refused = 0;
    for (byte[] record : garbage) {
      try {
        deserializer.deserialize(topic, record);
      } catch (AvroSerdeException expected) {
        refused++;
        assertEquals(Problem.MALFORMED_PAYLOAD, expected.problem(), expected.getMessage());
        assertEquals(id, expected.schemaId());
      }
    }
    assertTrue(refused > 150, "most random bodies must be refused, not decoded: " + refused);

    assertProblem(
        Problem.UNKNOWN_MAGIC_BYTE, "magic byte", deserializer, topic, "not avro".getBytes());
    assertProblem(Problem.TRUNCATED_HEADER, "header", deserializer, topic, new byte[] {0, 0});
  }

  private static void assertProblem(
      Problem expected,
      String messagePart,
      AvroDeserializer<?> deserializer,
      String topic,
      byte[] bytes) {
    AvroSerdeException e =
        assertThrows(AvroSerdeException.class, () -> deserializer.deserialize(topic, bytes));
    assertEquals(expected, e.problem(), e.getMessage());
    assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    assertTrue(e.getMessage().contains(topic), e.getMessage());
  }

  private static ConsumerRecord<String, byte[]> readLast(String topic) {
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("contracts"));
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      ConsumerRecord<String, byte[]> last = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if ("round-trip".equals(r.key())) {
            last = r;
          }
        }
        if (last != null
            && consumer.endOffsets(partitions).entrySet().stream()
                .allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
          return last;
        }
      }
      throw new AssertionError("no round-trip record on " + topic);
    }
  }
}
