package dev.flywheel.trainerkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(FlywheelInfraExtension.class)
class MetricsPublisherTest {

  @Test
  void publishesKeyedBySourceAndFlushesOnClose(FlywheelInfra infra) {
    String topic = infra.uniqueName("metrics");
    infra.createTopic(topic, 1);
    MetricsPublisher metrics =
        MetricsPublisher.create(Fixtures.kafka(infra), topic, "reward-trainer");
    Map<String, Double> values = new LinkedHashMap<>();
    values.put("loss", 0.5);
    values.put("accuracy", 0.75);
    values.put("grad_norm", Double.NaN);
    for (int step = 1; step <= 20; step++) {
      metrics.publish("reward", 3L, 2, step, values);
    }
    metrics.publish("eval", null, 2, 0, Map.of("eval_accuracy", 0.8));
    metrics.close(); // flushes: everything must be on the topic now
    assertEquals(21, metrics.sent());
    assertEquals(0, metrics.failed());
    metrics.publish("reward", 3L, 2, 21, values); // after close: dropped, no exception

    List<ConsumerRecord<String, TrainingMetrics>> records = new ArrayList<>();
    try (KafkaConsumer<String, TrainingMetrics> consumer =
        new KafkaConsumer<>(
            infra.consumerProps(infra.uniqueName("g")),
            new StringDeserializer(),
            new AvroDeserializer<>(
                new HttpSchemaRegistryClient(infra.registryUrl()), TrainingMetrics.class))) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 20_000;
      while (records.size() < 21 && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
    }
    assertEquals(21, records.size());
    ConsumerRecord<String, TrainingMetrics> first = records.get(0);
    assertEquals("reward-trainer", first.key());
    assertEquals("reward", first.value().getPhase());
    assertEquals(3L, first.value().getModelVersion());
    assertEquals(2, first.value().getRound());
    assertEquals(1, first.value().getStep());
    assertEquals(
        Map.of("loss", 0.5, "accuracy", 0.75), first.value().getValues(), "NaN is dropped");
    TrainingMetrics last = records.get(20).value();
    assertEquals("eval", last.getPhase());
    assertNull(last.getModelVersion());
  }

  @Test
  void deliveryFailuresAreCountedNotThrown() {
    MockProducer<String, TrainingMetrics> producer =
        new MockProducer<>(false, null, new StringSerializer(), (topic, data) -> new byte[0]);
    MetricsPublisher metrics = new MetricsPublisher(producer, "m", "policy-trainer");
    metrics.publish("ppo", 1L, 1, 1, Map.of("kl", 0.01));
    metrics.publish("ppo", 1L, 1, 2, Map.of("kl", 0.02));
    producer.errorNext(new RuntimeException("broker down"));
    producer.completeNext();
    assertEquals(1, metrics.failed());
    assertEquals(1, metrics.sent());
  }
}
