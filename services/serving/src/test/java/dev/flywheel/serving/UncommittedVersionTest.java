package dev.flywheel.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Serving reads the versions topic read_committed, like every other consumer: a trainer transaction
 * that publishes a LIVE version and aborts is never loaded, served or republished. The aborted
 * record sits between two committed ones, and records are applied in offset order, so once the
 * later version is live the aborted one would already have been applied had serving read it.
 */
@ExtendWith(FlywheelInfraExtension.class)
class UncommittedVersionTest {

  @Test
  void anAbortedTransactionsVersionIsNeverLoadedOrServed(FlywheelInfra infra) throws Exception {
    // (a user's flywheel.kafka.properties.isolation.level=read_uncommitted is refused at start-up:
    // KafkaPropertiesTest)
    TestServing serving = new TestServing(infra, Map.of());
    try {
      serving.artifact("v1", 1);
      serving.artifact("v2", 2);
      serving.artifact("v3", 3);
      serving.publishVersion(1, ModelStatus.LIVE, "v1");
      serving.awaitLive(1, Duration.ofSeconds(60));

      Map<String, Object> props = infra.producerProps();
      props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, infra.uniqueName("aborting-trainer"));
      try (KafkaProducer<String, PolicyVersion> trainer =
          new KafkaProducer<>(
              props,
              new StringSerializer(),
              new AvroSerializer<>(new HttpSchemaRegistryClient(infra.registryUrl()), true))) {
        trainer.initTransactions();
        trainer.beginTransaction();
        trainer
            .send(
                new ProducerRecord<>(
                    serving.versionsTopic,
                    "2",
                    serving.versionRecord(
                        2,
                        ModelStatus.LIVE,
                        serving.artifactDir("v2").toUri().toString(),
                        serving.sha("v2"))))
            .get();
        trainer.flush();
        trainer.abortTransaction();
      }
      serving.publishVersion(3, ModelStatus.LIVE, "v3");
      serving.awaitLive(3, Duration.ofSeconds(60));

      assertTrue(
          serving.manager().book().get(2).isEmpty(), "the aborted version is not in the book");
      assertEquals(3, serving.manager().routing().live().version());
      assertTrue(
          serving.manager().book().all().stream().noneMatch(e -> e.version() == 2),
          "versions known: "
              + serving.manager().book().all().stream().map(e -> e.version()).toList());
    } finally {
      serving.close();
    }
  }
}
