package dev.flywheel.trainerkit;

import static dev.flywheel.trainerkit.Fixtures.kafka;
import static dev.flywheel.trainerkit.Fixtures.version;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(FlywheelInfraExtension.class)
class VersionLedgerAndPublisherTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void ledgerKeepsTheLatestRecordPerVersionTheHighestNumberAndTheLatestLiveVersion(
      FlywheelInfra infra) throws Exception {
    String topic = Fixtures.versionsTopic(infra);
    assertEquals(
        0, VersionLedger.loadRewardVersions(kafka(infra), topic, TIMEOUT).highestVersion());
    try (VersionPublisher<RewardModelVersion> publisher =
        VersionPublisher.create(
            kafka(infra), topic, RewardModelVersion::getVersion, null, TIMEOUT)) {
      assertFalse(publisher.isTransactional());
      RecordMetadata first = publisher.publish(version(1, ModelStatus.CANDIDATE));
      assertEquals(0, first.offset(), "publish returns the broker's acknowledgement");
      publisher.publish(
          List.of(
              version(1, ModelStatus.LIVE),
              version(2, ModelStatus.CANDIDATE),
              version(2, ModelStatus.LIVE),
              version(3, ModelStatus.REJECTED)),
          Map.of(),
          null);
      publisher.publish(version(4, ModelStatus.REJECTED));
    }
    // a tombstone (deleted version 4) and an undecodable record (key 6) must not make their numbers
    // reusable
    try (KafkaProducer<String, byte[]> raw =
        new KafkaProducer<>(
            infra.producerProps(), new StringSerializer(), new ByteArraySerializer())) {
      raw.send(new ProducerRecord<>(topic, "4", null)).get();
      raw.send(new ProducerRecord<>(topic, "6", new byte[] {1, 2, 3})).get();
    }

    VersionLedger<RewardModelVersion> ledger =
        VersionLedger.loadRewardVersions(kafka(infra), topic, TIMEOUT);
    assertEquals(6, ledger.highestVersion());
    assertEquals(7, ledger.nextVersion());
    assertEquals(List.of(1L, 2L, 3L), List.copyOf(ledger.versions().keySet()));
    assertEquals(
        ModelStatus.LIVE,
        ledger.get(1).orElseThrow().getStatus(),
        "the later record of a version wins");
    assertEquals(ModelStatus.REJECTED, ledger.get(3).orElseThrow().getStatus());
    assertEquals(
        2, ledger.latestAccepted().orElseThrow().getVersion(), "REJECTED 3 is not accepted");
    assertEquals(3, ledger.latestVersion().orElseThrow().getVersion());

    ledger.apply(version(7, ModelStatus.LIVE));
    assertEquals(7, ledger.latestAccepted().orElseThrow().getVersion());
    assertEquals(8, ledger.nextVersion());
  }

  /**
   * Committed offsets as a restarted trainer sees them: a read_committed consumer's committed()
   * (which asks the coordinator for stable offsets, waiting out pending transactional ones,
   * KIP-447).
   */
  private static Map<TopicPartition, OffsetAndMetadata> committed(
      FlywheelInfra infra, String group, String topic, int partitions) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            kafka(infra).consumerConfig("check", group),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      Set<TopicPartition> tps = new HashSet<>();
      for (int p = 0; p < partitions; p++) {
        tps.add(new TopicPartition(topic, p));
      }
      return consumer.committed(tps, TIMEOUT);
    }
  }

  @Test
  void aVersionAndTheOffsetsOfItsInputCommitAtomically(FlywheelInfra infra) throws Exception {
    String topic = Fixtures.versionsTopic(infra);
    String input = infra.uniqueName("input");
    infra.createTopic(input, 2);
    String group = infra.uniqueName("trainer");
    String txId = infra.uniqueName("tx");
    TopicPartition p0 = new TopicPartition(input, 0);
    TopicPartition p1 = new TopicPartition(input, 1);
    try (VersionPublisher<RewardModelVersion> publisher =
        VersionPublisher.create(
            kafka(infra), topic, RewardModelVersion::getVersion, txId, TIMEOUT)) {
      assertTrue(publisher.isTransactional());
      List<RecordMetadata> acks =
          publisher.publish(
              List.of(version(1, ModelStatus.CANDIDATE), version(1, ModelStatus.LIVE)),
              Map.of(p0, new OffsetAndMetadata(17), p1, new OffsetAndMetadata(4)),
              new ConsumerGroupMetadata(group));
      assertEquals(2, acks.size());
      assertThrows(
          IllegalArgumentException.class,
          () ->
              publisher.publish(
                  List.of(version(2, ModelStatus.LIVE)),
                  Map.of(p0, new OffsetAndMetadata(18)),
                  null));
    }
    Map<TopicPartition, OffsetAndMetadata> committed = committed(infra, group, input, 2);
    assertEquals(17, committed.get(p0).offset());
    assertEquals(4, committed.get(p1).offset());
    VersionLedger<RewardModelVersion> ledger =
        VersionLedger.loadRewardVersions(kafka(infra), topic, TIMEOUT);
    assertEquals(1, ledger.latestAccepted().orElseThrow().getVersion());
  }

  @Test
  void aCrashedTransactionIsAbortedByTheNextPublisherAndItsVersionNeverSeen(FlywheelInfra infra)
      throws Exception {
    String topic = Fixtures.versionsTopic(infra);
    String input = infra.uniqueName("input");
    infra.createTopic(input, 1);
    String group = infra.uniqueName("trainer");
    String txId = infra.uniqueName("tx");
    TopicPartition p0 = new TopicPartition(input, 0);
    try (VersionPublisher<RewardModelVersion> publisher =
        VersionPublisher.create(
            kafka(infra), topic, RewardModelVersion::getVersion, txId, TIMEOUT)) {
      publisher.publish(
          List.of(version(1, ModelStatus.LIVE)),
          Map.of(p0, new OffsetAndMetadata(10)),
          new ConsumerGroupMetadata(group));
    }
    // a trainer that dies inside its transaction: version 2 sent, offsets sent, never committed
    Map<String, Object> props = kafka(infra).producerConfig("zombie");
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txId);
    AvroSerializer<RewardModelVersion> values = new AvroSerializer<>();
    values.configure(props, false);
    KafkaProducer<String, RewardModelVersion> zombie =
        new KafkaProducer<>(props, new StringSerializer(), values);
    zombie.initTransactions();
    zombie.beginTransaction();
    zombie.send(new ProducerRecord<>(topic, "2", version(2, ModelStatus.LIVE))).get();
    zombie.sendOffsetsToTransaction(
        Map.of(p0, new OffsetAndMetadata(20)), new ConsumerGroupMetadata(group));
    zombie.flush();

    // the restarted trainer: publisher first (fences the zombie, aborts its transaction), then the
    // ledger
    try (VersionPublisher<RewardModelVersion> publisher =
        VersionPublisher.create(
            kafka(infra), topic, RewardModelVersion::getVersion, txId, TIMEOUT)) {
      VersionLedger<RewardModelVersion> ledger =
          VersionLedger.loadRewardVersions(kafka(infra), topic, TIMEOUT);
      assertEquals(1, ledger.highestVersion(), "the aborted version 2 is invisible");
      assertEquals(
          10,
          committed(infra, group, input, 1).get(p0).offset(),
          "the aborted offsets were not committed");
      publisher.publish(
          List.of(version(ledger.nextVersion(), ModelStatus.LIVE)),
          Map.of(p0, new OffsetAndMetadata(20)),
          new ConsumerGroupMetadata(group));
      assertEquals(
          2,
          VersionLedger.loadRewardVersions(kafka(infra), topic, TIMEOUT)
              .latestAccepted()
              .orElseThrow()
              .getVersion());

      // the zombie cannot commit any more
      assertThrows(Exception.class, zombie::commitTransaction);
    } finally {
      zombie.close(Duration.ZERO);
    }
  }

  @Test
  void aFencedPublisherFailsFatally(FlywheelInfra infra) throws Exception {
    String topic = Fixtures.versionsTopic(infra);
    String txId = infra.uniqueName("tx");
    try (VersionPublisher<RewardModelVersion> old =
            VersionPublisher.create(
                kafka(infra), topic, RewardModelVersion::getVersion, txId, TIMEOUT);
        VersionPublisher<RewardModelVersion> replacement =
            VersionPublisher.create(
                kafka(infra), topic, RewardModelVersion::getVersion, txId, TIMEOUT)) {
      VersionPublisher.PublishException e =
          assertThrows(
              VersionPublisher.PublishException.class,
              () -> old.publish(version(1, ModelStatus.LIVE)));
      assertTrue(e.isFatal(), e.toString());
      assertTrue(
          assertThrows(
                  VersionPublisher.PublishException.class,
                  () -> old.publish(version(1, ModelStatus.LIVE)))
              .isFatal());
      replacement.publish(version(1, ModelStatus.LIVE));
    }
    assertEquals(
        1, VersionLedger.loadRewardVersions(kafka(infra), topic, TIMEOUT).highestVersion());
  }
}
