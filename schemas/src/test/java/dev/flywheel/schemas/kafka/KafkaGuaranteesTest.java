package dev.flywheel.schemas.kafka;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KafkaGuaranteesTest {

  private static final String PREFIX = "flywheel.kafka.properties.";

  @Test
  void refusesEachWeakeningClientOverrideNamingTheProperty() {
    assertEquals(
        "flywheel.kafka.properties.acks=1 would weaken the delivery guarantee (acks=all is required)",
        refusal(Map.of("acks", "1")));
    assertEquals(
        "flywheel.kafka.properties.acks=0 would weaken the delivery guarantee (acks=all is required)",
        refusal(Map.of("acks", "0")));
    assertEquals(
        "flywheel.kafka.properties.enable.idempotence=false would weaken the delivery guarantee"
            + " (enable.idempotence=true is required)",
        refusal(Map.of("enable.idempotence", "false")));
    assertEquals(
        "flywheel.kafka.properties.enable.idempotence=false would weaken the delivery guarantee"
            + " (enable.idempotence=true is required)",
        refusal(Map.of("enable.idempotence", false)));
    assertEquals(
        "flywheel.kafka.properties.isolation.level=read_uncommitted would weaken the delivery"
            + " guarantee (isolation.level=read_committed is required)",
        refusal(Map.of("isolation.level", "read_uncommitted")));
  }

  @Test
  void namesEveryWeakeningPropertyAtOnce() {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("acks", "1");
    props.put("client.id", "x");
    props.put("isolation.level", "READ_UNCOMMITTED");
    List<String> violations = KafkaGuarantees.clientViolations(PREFIX, props);
    assertEquals(2, violations.size(), violations::toString);
    String message = refusal(props);
    assertTrue(message.contains("flywheel.kafka.properties.acks=1"), message);
    assertTrue(
        message.contains("flywheel.kafka.properties.isolation.level=READ_UNCOMMITTED"), message);
  }

  @Test
  void acceptsTheGuaranteesThemselvesAndHarmlessProperties() {
    assertDoesNotThrow(
        () ->
            KafkaGuarantees.requireClientGuarantees(
                PREFIX,
                Map.of(
                    "acks",
                    "all",
                    "enable.idempotence",
                    "true",
                    "isolation.level",
                    "read_committed",
                    "client.id",
                    "my-client",
                    "security.protocol",
                    "SASL_SSL",
                    "linger.ms",
                    "5")));
    assertDoesNotThrow(() -> KafkaGuarantees.requireClientGuarantees(PREFIX, Map.of("acks", "-1")));
    assertDoesNotThrow(
        () -> KafkaGuarantees.requireClientGuarantees(PREFIX, Map.of("acks", " ALL ")));
    assertDoesNotThrow(() -> KafkaGuarantees.requireClientGuarantees(PREFIX, Map.of()));
    // processing.guarantee means nothing to a plain client: only Streams checks it
    assertDoesNotThrow(
        () ->
            KafkaGuarantees.requireClientGuarantees(
                PREFIX, Map.of("processing.guarantee", "at_least_once")));
  }

  @Test
  void streamsRefusesAtLeastOnceAndWeakeningsUnderItsClientPrefixes() {
    assertEquals(
        "streams.processing.guarantee=at_least_once would weaken the delivery guarantee"
            + " (processing.guarantee=exactly_once_v2 is required)",
        streamsRefusal(Map.of("processing.guarantee", "at_least_once")));
    assertEquals(
        "streams.producer.acks=1 would weaken the delivery guarantee (acks=all is required)",
        streamsRefusal(Map.of("producer.acks", "1")));
    assertEquals(
        "streams.acks=0 would weaken the delivery guarantee (acks=all is required)",
        streamsRefusal(Map.of("acks", "0")));
    assertEquals(
        "streams.producer.enable.idempotence=false would weaken the delivery guarantee"
            + " (enable.idempotence=true is required)",
        streamsRefusal(Map.of("producer.enable.idempotence", "false")));
    for (String prefix :
        List.of("", "consumer.", "main.consumer.", "restore.consumer.", "global.consumer.")) {
      String message = streamsRefusal(Map.of(prefix + "isolation.level", "read_uncommitted"));
      assertTrue(
          message.startsWith("streams." + prefix + "isolation.level=read_uncommitted would weaken"),
          message);
    }
    assertDoesNotThrow(
        () ->
            KafkaGuarantees.requireStreamsGuarantees(
                "streams.",
                Map.of(
                    "processing.guarantee",
                    "exactly_once_v2",
                    "num.stream.threads",
                    "2",
                    "client.id",
                    "pa",
                    "security.protocol",
                    "SSL",
                    "producer.linger.ms",
                    "10",
                    "commit.interval.ms",
                    "1000")));
  }

  private static String refusal(Map<String, ?> props) {
    return assertThrows(
            IllegalArgumentException.class,
            () -> KafkaGuarantees.requireClientGuarantees(PREFIX, props))
        .getMessage();
  }

  private static String streamsRefusal(Map<String, ?> props) {
    return assertThrows(
            IllegalArgumentException.class,
            () -> KafkaGuarantees.requireStreamsGuarantees("streams.", props))
        .getMessage();
  }
}
