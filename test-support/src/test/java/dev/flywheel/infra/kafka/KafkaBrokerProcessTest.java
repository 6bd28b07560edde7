package dev.flywheel.infra.kafka;

import static dev.flywheel.infra.TestClients.consume;
import static dev.flywheel.infra.TestClients.produce;
import static dev.flywheel.infra.TestClients.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.infra.TestClients;
import dev.flywheel.infra.topics.TopicCreator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaBrokerProcessTest {

  @Test
  void killedBrokerProcessRestartsWithItsDataIntact(@TempDir Path dataDir) throws Exception {
    try (KafkaBrokerProcess broker = KafkaBrokerProcess.builder().dataDirectory(dataDir).start()) {
      long firstPid = broker.pid();
      String clusterId = KafkaBrokerSettings.clusterId(dataDir).orElseThrow();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        TopicCreator.ensureTopic(admin, "durable", 2, Map.of());
      }
      produce(TestClients.producerProps(broker.bootstrapServers()), "durable", values("a", 50));

      ProcessHandle handle = ProcessHandle.of(firstPid).orElseThrow();
      broker.kill();
      assertFalse(handle.isAlive(), "broker JVM is gone after kill()");
      assertFalse(broker.isRunning());

      broker.start();
      assertThat(broker.pid()).isNotEqualTo(firstPid);
      assertEquals(
          clusterId,
          KafkaBrokerSettings.clusterId(dataDir).orElseThrow(),
          "data directory not re-formatted");
      produce(TestClients.producerProps(broker.bootstrapServers()), "durable", values("b", 5));
      List<String> expected = new ArrayList<>(values("a", 50));
      expected.addAll(values("b", 5));
      assertThat(consume(broker.bootstrapServers(), "durable", 55, Duration.ofSeconds(30)))
          .containsExactlyInAnyOrderElementsOf(expected);

      broker.stop();
      assertFalse(broker.isRunning());
      assertTrue(broker.logFile().toFile().length() > 0, "broker output goes to its log file");
    }
  }
}
