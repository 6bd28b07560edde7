package dev.flywheel.trainerkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Against the real broker: an acknowledged send lets the caller commit, a lost one stops it. */
@ExtendWith(FlywheelInfraExtension.class)
class AcknowledgedSendsTest {

  @Test
  void aFailedSendIsReportedBeforeTheCallerCommitsAndOnlyOnce(FlywheelInfra infra) {
    String topic = infra.uniqueName("dead-letters");
    infra.createTopic(topic, 1);
    Map<String, Object> props = infra.producerProps();
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1000); // the broker does not auto-create topics
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      AcknowledgedSends<String, String> sends = new AcknowledgedSends<>(producer);
      sends.send(new ProducerRecord<>(topic, "k", "written"), "a dead letter");
      sends.awaitAcknowledged(); // acknowledged: no exception

      sends.send(
          new ProducerRecord<>(infra.uniqueName("missing-topic"), "k", "lost"), "a dead letter");
      sends.send(new ProducerRecord<>(topic, "k", "written too"), "a dead letter");
      assertThrows(AcknowledgedSends.NotAcknowledged.class, sends::awaitAcknowledged);
      assertEquals(3, sends.sent());
      assertEquals(1, sends.failed());
      sends.awaitAcknowledged(); // the failure was reported once; nothing failed since
    }
  }
}
