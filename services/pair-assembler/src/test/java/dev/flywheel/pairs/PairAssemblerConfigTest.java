package dev.flywheel.pairs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PairAssemblerConfigTest {

  @Test
  void fileThenEnvironmentThenArgumentsWin(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("pa.properties");
    Files.writeString(file, """
        bootstrap.servers=file:9092
        schema.registry.url=http://file
        grace.period=PT2M
        eval.fraction=0.3
        streams.num.stream.threads=2
        """);
    PairAssemblerConfig config = PairAssemblerConfig.load(
        new String[] {file.toString(), "--eval.fraction=0.25"},
        Map.of("PAIR_ASSEMBLER_GRACE_PERIOD", "90s", "PAIR_ASSEMBLER_EVAL_FRACTION", "0.4", "OTHER", "x"));
    assertEquals(Duration.ofSeconds(90), config.gracePeriod());
    assertEquals(0.25, config.evalFraction());
    assertEquals(Duration.ofDays(7), config.dedupRetention(), "default");
    Properties streams = config.streamsProperties();
    assertEquals("exactly_once_v2", streams.get("processing.guarantee"));
    assertEquals("2", streams.get("num.stream.threads"));
    assertEquals("file:9092", streams.get("bootstrap.servers"));
    assertEquals(config.stateDir(), streams.get("state.dir"));
  }

  @Test
  void durationsAndBounds() {
    assertEquals(Duration.ofMillis(500), PairAssemblerConfig.parseDuration("500ms"));
    assertEquals(Duration.ofHours(2), PairAssemblerConfig.parseDuration("2h"));
    assertEquals(Duration.ofMinutes(10), PairAssemblerConfig.parseDuration("PT10M"));
    assertThrows(IllegalArgumentException.class, () -> PairAssemblerConfig.of(Map.of("eval.fraction", "1.5")));
    assertThrows(IllegalArgumentException.class,
        () -> PairAssemblerConfig.of(Map.of()).streamsProperties(), "bootstrap.servers is required");
  }

  @Test
  void aWeakeningStreamsSettingFailsStartUpNamingIt() {
    assertRefused(Map.of("streams.processing.guarantee", "at_least_once"), "streams.processing.guarantee"
        + "=at_least_once would weaken the delivery guarantee (processing.guarantee=exactly_once_v2 is required)");
    assertRefused(Map.of("streams.producer.acks", "1"),
        "streams.producer.acks=1 would weaken the delivery guarantee (acks=all is required)");
    assertRefused(Map.of("streams.acks", "0"),
        "streams.acks=0 would weaken the delivery guarantee (acks=all is required)");
    assertRefused(Map.of("streams.producer.enable.idempotence", "false"), "streams.producer.enable.idempotence"
        + "=false would weaken the delivery guarantee (enable.idempotence=true is required)");
    assertRefused(Map.of("streams.consumer.isolation.level", "read_uncommitted"), "streams.consumer.isolation.level"
        + "=read_uncommitted would weaken the delivery guarantee (isolation.level=read_committed is required)");
    // from the environment, as the Helm chart passes them
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PairAssemblerConfig.load(
        new String[0], Map.of("PAIR_ASSEMBLER_STREAMS_PROCESSING_GUARANTEE", "at_least_once")));
    assertTrue(e.getMessage().startsWith("streams.processing.guarantee=at_least_once would weaken"), e.getMessage());
    // and through with(), like every other setting
    assertThrows(IllegalArgumentException.class,
        () -> PairAssemblerConfig.of(Map.of()).with("streams.isolation.level", "read_uncommitted"));
  }

  @Test
  void harmlessStreamsSettingsPass() {
    PairAssemblerConfig config = PairAssemblerConfig.of(Map.of(
        "bootstrap.servers", "localhost:9092", "schema.registry.url", "http://localhost:8081",
        "streams.client.id", "pa-1", "streams.security.protocol", "SSL",
        "streams.processing.guarantee", "exactly_once_v2", "streams.producer.acks", "all"));
    Properties streams = config.streamsProperties();
    assertEquals("pa-1", streams.get("client.id"));
    assertEquals("SSL", streams.get("security.protocol"));
    assertEquals("exactly_once_v2", streams.get("processing.guarantee"));
  }

  private static void assertRefused(Map<String, String> overrides, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PairAssemblerConfig.of(overrides), () -> overrides + " was accepted");
    assertEquals(message, e.getMessage());
  }

  @Test
  void toStringNeverShowsASecret() {
    PairAssemblerConfig config = PairAssemblerConfig.of(Map.of(
        "streams.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"hunter2-sasl\";",
        "streams.ssl.keystore.password", "hunter2-keystore",
        "streams.ssl.key.password", "hunter2-key",
        "streams.basic.auth.user.info", "user:hunter2-registry",
        "grace.period", "5m", "bootstrap.servers", "localhost:9092", "schema.registry.url", "http://localhost:8081"));
    String shown = config.toString();
    assertFalse(shown.contains("hunter2"), shown);
    assertTrue(shown.contains("sasl.jaas.config=[redacted]"), shown);
    assertTrue(shown.contains("grace.period=5m"), "non-secrets stay visible: " + shown);
    // the secrets still reach Kafka Streams
    assertEquals("hunter2-keystore", config.streamsProperties().get("ssl.keystore.password"));
  }
}
