package dev.flywheel.trainerkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The trainers' extra client properties may not weaken acks, idempotence or isolation. */
class KafkaSettingsTest {

  @Test
  void refusesAWeakeningOverrideNamingTheProperty() {
    assertEquals(
        "Kafka client property acks=1 would weaken the delivery guarantee (acks=all is required)",
        refusal(Map.of("acks", "1")));
    assertEquals(
        "Kafka client property enable.idempotence=false would weaken the delivery guarantee"
            + " (enable.idempotence=true is required)",
        refusal(Map.of("enable.idempotence", "false")));
    assertEquals(
        "Kafka client property isolation.level=read_uncommitted would weaken the delivery guarantee"
            + " (isolation.level=read_committed is required)",
        refusal(Map.of("isolation.level", "read_uncommitted")));
  }

  @Test
  void harmlessOverridesReachEveryClient() {
    KafkaSettings settings =
        new KafkaSettings(
            "broker:9092",
            "http://registry",
            Map.of("client.id", "ignored-by-the-kit", "security.protocol", "SSL", "acks", "all"));
    Map<String, Object> producer = settings.producerConfig("p-1");
    assertEquals("SSL", producer.get("security.protocol"));
    assertEquals("all", producer.get("acks"));
    assertEquals(true, producer.get("enable.idempotence"));
    Map<String, Object> consumer = settings.consumerConfig("c-1", "g");
    assertEquals("SSL", consumer.get("security.protocol"));
    assertEquals("read_committed", consumer.get("isolation.level"));
  }

  private static String refusal(Map<String, String> props) {
    return assertThrows(
            IllegalArgumentException.class,
            () -> new KafkaSettings("broker:9092", "http://registry", props))
        .getMessage();
  }
}
