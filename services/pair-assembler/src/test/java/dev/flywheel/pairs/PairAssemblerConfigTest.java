package dev.flywheel.pairs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.env.PropertySource;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The settings bind like every service's: {@code flywheel.kafka.*} and {@code flywheel.registry.*}
 * (the same environment variables as the other services) plus {@code flywheel.pair-assembler.*}.
 */
class PairAssemblerConfigTest {

  /** The Streams app itself stays off: these tests only bind settings. */
  private static final Map<String, Object> APP_OFF =
      Map.of("flywheel.pair-assembler.enabled", "false");

  @Test
  void environmentVariablesOverrideTheDefaultsOfApplicationYml() {
    PropertySource env =
        PropertySource.of(
            "test-env",
            Map.of(
                "FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS", "env:9092",
                "FLYWHEEL_REGISTRY_URL", "http://env-registry:8081",
                "FLYWHEEL_PAIR_ASSEMBLER_GRACE_PERIOD", "90s",
                "FLYWHEEL_PAIR_ASSEMBLER_EVAL_FRACTION", "0.25",
                "FLYWHEEL_PAIR_ASSEMBLER_STATE_DIR", "/var/lib/pa"),
            PropertySource.PropertyConvention.ENVIRONMENT_VARIABLE);
    Map<String, Object> props = new HashMap<>(APP_OFF);
    props.put("flywheel.pair-assembler.streams.num.stream.threads", "2");
    try (ApplicationContext ctx =
        ApplicationContext.builder().properties(props).propertySources(env).start()) {
      PairAssemblerConfig config = ctx.getBean(PairAssemblerConfig.class);
      assertEquals(Duration.ofSeconds(90), config.getGracePeriod());
      assertEquals(0.25, config.getEvalFraction());
      assertEquals(Duration.ofDays(7), config.getDedupRetention(), "default");
      assertEquals("flywheel-pair-assembler", config.getApplicationId(), "default");
      assertFalse(ctx.containsBean(PairAssemblerStreams.class), "enabled=false keeps the app off");
      Properties streams =
          StreamsSettings.properties(
              ctx.getBean(KafkaProperties.class), ctx.getBean(RegistryProperties.class), config);
      assertEquals("exactly_once_v2", streams.get("processing.guarantee"));
      assertEquals("2", streams.get("num.stream.threads"));
      assertEquals("env:9092", streams.get("bootstrap.servers"));
      assertEquals("http://env-registry:8081", streams.get("schema.registry.url"));
      assertEquals("/var/lib/pa", streams.get("state.dir"));
      assertEquals("flywheel-pair-assembler", streams.get("application.id"));
    }
  }

  @Test
  void durationsAndBounds() {
    try (ApplicationContext ctx =
        ApplicationContext.run(
            Map.of(
                "flywheel.pair-assembler.enabled",
                "false",
                "flywheel.pair-assembler.sweep-interval",
                "500ms",
                "flywheel.pair-assembler.dedup-retention",
                "2h",
                "flywheel.pair-assembler.grace-period",
                "PT10M"))) {
      PairAssemblerConfig config = ctx.getBean(PairAssemblerConfig.class);
      assertEquals(Duration.ofMillis(500), config.getSweepInterval());
      assertEquals(Duration.ofHours(2), config.getDedupRetention());
      assertEquals(Duration.ofMinutes(10), config.getGracePeriod());
    }
    assertStartRefused(
        "flywheel.pair-assembler.eval-fraction",
        "1.5",
        "flywheel.pair-assembler.eval-fraction must be in [0, 1], got 1.5");
    assertStartRefused(
        "flywheel.pair-assembler.grace-period",
        "-1s",
        "flywheel.pair-assembler.grace-period must not be negative, got PT-1S");
    assertThrows(
        IllegalArgumentException.class,
        () -> new PairAssemblerConfig().setMetricsInterval(Duration.ZERO));
    assertThrows(
        IllegalArgumentException.class, () -> new PairAssemblerConfig().setApplicationId(" "));
  }

  @Test
  void aWeakeningStreamsSettingFailsStartUpNamingIt() {
    assertRefused(
        Map.of("processing.guarantee", "at_least_once"),
        "flywheel.pair-assembler.streams.processing.guarantee"
            + "=at_least_once would weaken the delivery guarantee (processing.guarantee=exactly_once_v2 is required)");
    assertRefused(
        Map.of("producer.acks", "1"),
        "flywheel.pair-assembler.streams.producer.acks=1 would weaken the delivery guarantee (acks=all is required)");
    assertRefused(
        Map.of("acks", "0"),
        "flywheel.pair-assembler.streams.acks=0 would weaken the delivery guarantee (acks=all is required)");
    assertRefused(
        Map.of("producer.enable.idempotence", "false"),
        "flywheel.pair-assembler.streams.producer."
            + "enable.idempotence=false would weaken the delivery guarantee (enable.idempotence=true is required)");
    assertRefused(
        Map.of("consumer.isolation.level", "read_uncommitted"),
        "flywheel.pair-assembler.streams.consumer."
            + "isolation.level=read_uncommitted would weaken the delivery guarantee (isolation.level=read_committed is required)");
    // from the configuration, as a deployment passes it: start-up fails
    assertStartRefused(
        "flywheel.pair-assembler.streams.processing.guarantee",
        "at_least_once",
        "flywheel.pair-assembler.streams.processing.guarantee=at_least_once would weaken");
    // the settings every service shares reach Kafka Streams too, and may not weaken exactly-once
    // either
    KafkaProperties kafka = new KafkaProperties();
    kafka.setProperties(Map.of("processing.guarantee", "at_least_once"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                StreamsSettings.properties(
                    kafka, new RegistryProperties(), new PairAssemblerConfig()));
    assertEquals(
        "flywheel.kafka.properties.processing.guarantee=at_least_once would weaken the delivery guarantee"
            + " (processing.guarantee=exactly_once_v2 is required)",
        e.getMessage());
  }

  @Test
  void harmlessStreamsSettingsPass() {
    KafkaProperties kafka = new KafkaProperties();
    kafka.setProperties(Map.of("security.protocol", "SSL"));
    PairAssemblerConfig config = new PairAssemblerConfig();
    config.setStreams(
        Map.of(
            "client.id",
            "pa-1",
            "processing.guarantee",
            "exactly_once_v2",
            "producer.acks",
            "all"));
    Properties streams = StreamsSettings.properties(kafka, new RegistryProperties(), config);
    assertEquals("pa-1", streams.get("client.id"));
    assertEquals("SSL", streams.get("security.protocol"));
    assertEquals("exactly_once_v2", streams.get("processing.guarantee"));
    assertEquals("all", streams.get("producer.acks"));
  }

  private static void assertRefused(Map<String, String> streams, String message) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new PairAssemblerConfig().setStreams(streams),
            () -> streams + " was accepted");
    assertEquals(message, e.getMessage());
  }

  private static void assertStartRefused(String key, String value, String message) {
    RuntimeException e =
        assertThrows(
            RuntimeException.class,
            () ->
                ApplicationContext.run(
                        Map.of(key, value, "flywheel.pair-assembler.enabled", "false"))
                    .close(),
            key + "=" + value + " was accepted");
    assertTrue(
        e.getMessage().contains(message),
        () -> "the start-up error should say \"" + message + "\": " + e);
  }

  @Test
  void loggedSettingsNeverShowASecret() {
    KafkaProperties kafka = new KafkaProperties();
    kafka.setProperties(
        Map.of(
            "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"hunter2-sasl\";",
            "ssl.keystore.password", "hunter2-keystore",
            "ssl.key.password", "hunter2-key"));
    PairAssemblerConfig config = new PairAssemblerConfig();
    config.setStreams(
        Map.of("basic.auth.user.info", "user:hunter2-registry", "num.stream.threads", "2"));
    config.setGracePeriod(Duration.ofMinutes(5));
    Properties streams = StreamsSettings.properties(kafka, new RegistryProperties(), config);
    // what the app logs at start-up: its settings and the complete Kafka Streams configuration
    String shown = config + " " + StreamsSettings.redacted(streams);
    assertFalse(shown.contains("hunter2"), shown);
    assertTrue(shown.contains("sasl.jaas.config=[redacted]"), shown);
    assertTrue(shown.contains("basic.auth.user.info=[redacted]"), shown);
    assertTrue(shown.contains("grace-period=PT5M"), "non-secrets stay visible: " + shown);
    assertTrue(shown.contains("num.stream.threads=2"), "non-secrets stay visible: " + shown);
    // the secrets still reach Kafka Streams
    assertEquals("hunter2-keystore", streams.get("ssl.keystore.password"));
    assertEquals("user:hunter2-registry", streams.get("basic.auth.user.info"));
  }
}
