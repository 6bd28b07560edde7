package dev.flywheel.kit.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.micronaut.context.ApplicationContext;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AvroProducerFactoryTest {

  @Test
  void bindsKafkaAndRegistryPropertiesAndLayersTheProducerConfig() {
    try (ApplicationContext ctx =
        ApplicationContext.run(
            Map.of(
                "flywheel.kafka.bootstrap-servers", "broker-1:9092",
                "flywheel.kafka.properties.linger.ms", "7",
                "flywheel.kafka.properties.security.protocol", "SSL",
                "flywheel.kafka.properties.acks", "-1",
                "flywheel.registry.url", "http://registry:8081/apis/ccompat/v7",
                "flywheel.registry.auto-register", false))) {
      KafkaProperties kafka = ctx.getBean(KafkaProperties.class);
      assertEquals("broker-1:9092", kafka.getBootstrapServers());
      assertEquals(
          Map.of("linger.ms", "7", "security.protocol", "SSL", "acks", "-1"),
          kafka.getProperties());
      assertFalse(ctx.getBean(RegistryProperties.class).isAutoRegister());

      Map<String, Object> config =
          ctx.getBean(AvroProducerFactory.class)
              .producerConfig("c-1", Map.of("acks", "all", "max.block.ms", 100));
      assertEquals("broker-1:9092", config.get("bootstrap.servers"));
      assertEquals("c-1", config.get("client.id"));
      assertEquals("7", config.get("linger.ms"));
      assertEquals("SSL", config.get("security.protocol"));
      assertEquals("all", config.get("acks"), "the caller's overrides win");
      assertEquals(100, config.get("max.block.ms"));
      assertEquals(true, config.get("enable.idempotence"));
      assertEquals("http://registry:8081/apis/ccompat/v7", config.get("schema.registry.url"));
      assertEquals(false, config.get("auto.register.schemas"));
    }
  }
}
