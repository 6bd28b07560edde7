package dev.flywheel.reward;

import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.trainerkit.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the tail of a side topic ({@code training.metrics} for the agreement ceiling, {@code
 * feedback.demonstrations} for reference responses) with a group-less consumer: the first {@link
 * #catchUp} starts {@code initialRecords} before the end of each partition, later calls continue
 * where the last one stopped, each reading up to the end offsets of the moment. Undecodable records
 * are skipped (they belong to another service's dead letters). Not thread-safe.
 */
final class TopicTail<V extends org.apache.avro.specific.SpecificRecord> implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TopicTail.class);

  private final String topic;
  private final long initialRecords;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final AvroDeserializer<V> values;
  private final Duration timeout;
  private boolean positioned;
  private long skipped;

  TopicTail(
      KafkaSettings kafka, String topic, Class<V> type, long initialRecords, Duration timeout) {
    this.topic = topic;
    this.initialRecords = initialRecords;
    this.timeout = timeout;
    Map<String, Object> config = kafka.consumerConfig("reward-trainer-tail-" + topic, null);
    this.consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.values = kafka.valueDeserializer(type);
  }

  /** Feeds every record between the last position and the current end offsets to {@code sink}. */
  void catchUp(Consumer<V> sink) {
    try {
      if (!positioned) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        List<TopicPartition> partitions = new ArrayList<>();
        if (infos != null) {
          infos.forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
        }
        consumer.assign(partitions);
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        for (TopicPartition tp : partitions) {
          consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - initialRecords));
        }
        positioned = true;
      }
      Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!reached(end) && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          if (r.value() == null) {
            continue;
          }
          V value;
          try {
            value = values.deserialize(topic, r.value());
          } catch (RuntimeException e) {
            if (skipped++ % 100 == 0) {
              LOG.warn(
                  "skipping undecodable record {}-{}@{}: {}",
                  topic,
                  r.partition(),
                  r.offset(),
                  e.getMessage());
            }
            continue;
          }
          sink.accept(value);
        }
      }
    } catch (RuntimeException e) {
      // side data only: a failure here must not stop training
      LOG.warn("could not read {}: {}", topic, e.toString());
    }
  }

  private boolean reached(Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(2));
  }
}
