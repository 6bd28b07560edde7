package dev.flywheel.feedback.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.Role;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The producer wrapper writes each event to its catalogue topic, keyed as the catalogue says, in
 * our serde.
 */
@ExtendWith(FlywheelInfraExtension.class)
class FeedbackProducerTest {

  @Test
  void writesEachKindToItsTopic(FlywheelInfra infra) throws Exception {
    try (FeedbackProducer producer =
        FeedbackProducer.create(infra.bootstrapServers(), infra.registryUrl())) {
      ChatTranscript t =
          Feedback.transcript("app-x")
              .transcriptId("fp-t")
              .turn(Role.USER, "q")
              .response("r1", "a")
              .response("r2", "b")
              .build();
      HumanRanking r =
          Feedback.ranking("app-x")
              .transcriptId("fp-t")
              .pairwise("r1", "r2", Choice.B)
              .annotatorId("ann")
              .build();
      Demonstration d =
          Feedback.demonstration("app-x")
              .demonstrationId("fp-d")
              .turn(Role.USER, "q")
              .response("a")
              .annotatorId("w")
              .build();
      RecordMetadata mt = producer.send(t).get(30, TimeUnit.SECONDS);
      RecordMetadata mr = producer.send(r).get(30, TimeUnit.SECONDS);
      RecordMetadata md = producer.send(d).get(30, TimeUnit.SECONDS);

      assertEquals(t, readAt(infra, Topics.CHAT_TRANSCRIPTS, mt, "fp-t"));
      assertEquals(r, readAt(infra, Topics.FEEDBACK_RANKINGS, mr, "fp-t"));
      assertEquals(d, readAt(infra, Topics.FEEDBACK_DEMONSTRATIONS, md, "fp-d"));

      // a hand-made event that breaks a rule is refused before it reaches Kafka
      HumanRanking bad = HumanRanking.newBuilder(r).setTiers(List.of(r.getTiers().get(0))).build();
      FeedbackValidationException e =
          assertThrows(FeedbackValidationException.class, () -> producer.send(bad));
      assertEquals(FeedbackRules.K_OUT_OF_RANGE, e.code());
    }
  }

  static <V extends SpecificRecord> V readAt(
      FlywheelInfra infra, TopicSpec<V> topic, RecordMetadata at, String expectedKey) {
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("client-test"));
    try (KafkaConsumer<String, V> consumer =
        new KafkaConsumer<>(
            props,
            new StringDeserializer(),
            new AvroDeserializer<>(
                new HttpSchemaRegistryClient(infra.registryUrl()), topic.valueType()))) {
      TopicPartition tp = new TopicPartition(at.topic(), at.partition());
      consumer.assign(List.of(tp));
      consumer.seek(tp, at.offset());
      List<ConsumerRecord<String, V>> got = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (got.isEmpty() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(got::add);
      }
      assertEquals(topic.name(), got.get(0).topic());
      assertEquals(expectedKey, got.get(0).key());
      return got.get(0).value();
    }
  }
}
