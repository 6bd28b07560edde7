package dev.flywheel.infra.kafka;

import static dev.flywheel.infra.TestClients.consume;
import static dev.flywheel.infra.TestClients.produce;
import static dev.flywheel.infra.TestClients.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.infra.TestClients;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(FlywheelInfraExtension.class)
class EmbeddedKafkaBrokerTest {

  @Test
  void standaloneBrokerProducesConsumesAndDeletesItsLogDirOnClose() throws Exception {
    Path logDir;
    try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker()) {
      broker.start();
      assertTrue(broker.isRunning());
      logDir = broker.logDir();
      assertTrue(KafkaBrokerSettings.isFormatted(logDir), "log dir formatted");
      try (var admin =
          org.apache.kafka.clients.admin.Admin.create(
              Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        dev.flywheel.infra.topics.TopicCreator.ensureTopic(admin, "standalone", 2, Map.of());
      }
      produce(TestClients.producerProps(broker.bootstrapServers()), "standalone", values("s", 20));
      assertThat(consume(broker.bootstrapServers(), "standalone", 20, Duration.ofSeconds(20)))
          .containsExactlyInAnyOrderElementsOf(values("s", 20));
    }
    assertFalse(Files.exists(logDir), "temporary log dir deleted on close");
  }

  @Test
  void stoppedBrokerFailsFastAndRestartsOnTheSamePortWithItsData(FlywheelInfra infra)
      throws Exception {
    EmbeddedKafkaBroker broker = infra.broker();
    String topic = infra.uniqueName("restart");
    infra.createTopic(topic, 3);
    String bootstrap = infra.bootstrapServers();
    produce(infra.producerProps(), topic, values("before", 30));

    broker.stop();
    try {
      assertFalse(broker.isRunning());
      Map<String, Object> props = infra.producerProps();
      props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 2000);
      props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 1000);
      props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 2000);
      props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
      long t0 = System.nanoTime();
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
        ExecutionException failure =
            assertThrows(
                ExecutionException.class,
                () ->
                    producer
                        .send(new ProducerRecord<>(topic, "k", "while-down"))
                        .get(15, TimeUnit.SECONDS));
        assertThat(failure.getCause())
            .isInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
      }
      assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(10);
    } finally {
      broker.start();
    }

    assertEquals(bootstrap, broker.bootstrapServers(), "same port after restart");
    assertTrue(broker.isRunning());
    produce(infra.producerProps(), topic, values("after", 10));
    List<String> expected = new ArrayList<>(values("before", 30));
    expected.addAll(values("after", 10));
    assertThat(consume(bootstrap, topic, 40, Duration.ofSeconds(30)))
        .containsExactlyInAnyOrderElementsOf(expected);
  }
}
