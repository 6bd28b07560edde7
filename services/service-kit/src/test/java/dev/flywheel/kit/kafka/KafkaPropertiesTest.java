package dev.flywheel.kit.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * flywheel.kafka.properties.* may not weaken the delivery guarantees: such a setting fails
 * start-up.
 */
class KafkaPropertiesTest {

  @Test
  void aWeakeningOverrideFailsStartUpNamingTheProperty() {
    assertRefused(
        "flywheel.kafka.properties.acks",
        "1",
        "flywheel.kafka.properties.acks=1 would weaken the delivery guarantee (acks=all is required)");
    assertRefused(
        "flywheel.kafka.properties.enable.idempotence",
        "false",
        "flywheel.kafka.properties.enable.idempotence=false would weaken the delivery guarantee"
            + " (enable.idempotence=true is required)");
    assertRefused(
        "flywheel.kafka.properties.isolation.level",
        "read_uncommitted",
        "flywheel.kafka.properties.isolation.level=read_uncommitted would weaken the delivery guarantee"
            + " (isolation.level=read_committed is required)");
  }

  @Test
  void harmlessOverridesPass() {
    try (ApplicationContext ctx =
        ApplicationContext.run(
            Map.of(
                "flywheel.kafka.properties.client.id", "my-service",
                "flywheel.kafka.properties.security.protocol", "SASL_SSL",
                "flywheel.kafka.properties.acks", "all",
                "flywheel.kafka.properties.isolation.level", "read_committed"))) {
      assertEquals(
          Map.of(
              "client.id",
              "my-service",
              "security.protocol",
              "SASL_SSL",
              "acks",
              "all",
              "isolation.level",
              "read_committed"),
          ctx.getBean(KafkaProperties.class).getProperties());
    }
  }

  @Test
  void settingThemInCodeIsRefusedToo() {
    KafkaProperties kafka = new KafkaProperties();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> kafka.setProperties(Map.of("acks", "0")));
    assertTrue(
        e.getMessage().startsWith("flywheel.kafka.properties.acks=0 would weaken"), e.getMessage());
    assertEquals(Map.of(), kafka.getProperties(), "nothing applied");
  }

  private static void assertRefused(String key, String value, String message) {
    // no bean is asked for: the eager bean fails the start itself
    RuntimeException e =
        assertThrows(
            RuntimeException.class,
            () -> ApplicationContext.run(Map.of(key, value)).close(),
            key + "=" + value + " was accepted");
    Throwable cause = e;
    while (cause != null && !(cause instanceof IllegalArgumentException)) {
      cause = cause.getCause();
    }
    assertTrue(
        cause != null && message.equals(cause.getMessage()),
        () -> "no cause with \"" + message + "\" in " + e);
    assertTrue(
        e.getMessage().contains(message),
        () -> "the start-up error should say \"" + message + "\": " + e.getMessage());
  }
}
