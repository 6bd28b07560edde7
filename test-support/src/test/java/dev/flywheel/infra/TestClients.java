package dev.flywheel.infra;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Plain string producers/consumers for the infra tests. */
public final class TestClients {

  private TestClients() {}

  public static Map<String, Object> producerProps(String bootstrapServers) {
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    return props;
  }

  /** Sends the values (key = value) and waits for every acknowledgement. */
  public static void produce(Map<String, Object> producerProps, String topic, List<String> values)
      throws Exception {
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (String v : values) {
        acks.add(producer.send(new ProducerRecord<>(topic, v, v)));
      }
      for (var ack : acks) {
        ack.get(30, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Reads the topic from the beginning until {@code expected} values arrived or the timeout passed.
   */
  public static List<String> consume(
      String bootstrapServers, String topic, int expected, Duration timeout) {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + topic + "-" + System.nanoTime());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (values.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          values.add(r.value());
        }
      }
    }
    return values;
  }

  public static List<String> values(String prefix, int n) {
    List<String> values = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      values.add(prefix + "-" + i);
    }
    return values;
  }
}
