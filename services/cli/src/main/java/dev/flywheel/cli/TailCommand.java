package dev.flywheel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.avro.generic.GenericContainer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    description = {
      "Print a topic's records as JSON lines.",
      "Values are decoded from Avro with the writer schema fetched from the schema registry. Starts at the "
          + "end (or --from-beginning) and follows the topic until --max records, --until-end, "
          + "--idle-timeout or Ctrl-C."
    })
class TailCommand implements Callable<Integer> {

  @ParentCommand FlywheelCli cli;

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "TOPIC", description = "Topic name, e.g. training.metrics.")
  String topic;

  @Option(
      names = "--from-beginning",
      description = "Start at the oldest record instead of the end.")
  boolean fromBeginning;

  @Option(names = "--max", paramLabel = "N", description = "Stop after N records.")
  Long max;

  @Option(
      names = "--until-end",
      description = "Stop at the end offsets the topic had when the command started.")
  boolean untilEnd;

  @Option(
      names = "--metadata",
      description =
          "Wrap each value as {\"partition\",\"offset\",\"timestamp\",\"key\",\"value\"}.")
  boolean metadata;

  @Option(
      names = "--idle-timeout",
      paramLabel = "SECONDS",
      description = "Stop after this long without a record (default: follow forever).")
  Long idleTimeout;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    AvroDeserializer<GenericContainer> values =
        new AvroDeserializer<>(new HttpSchemaRegistryClient(cli.schemaRegistryUrl()), null);
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cli.bootstrapServers());
    props.put(
        ConsumerConfig.CLIENT_ID_CONFIG,
        "flywheel-cli-tail-" + UUID.randomUUID().toString().substring(0, 8));
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    long printed = 0;
    long skipped = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = partitions(consumer, topic, cli.bootstrapServers());
      consumer.assign(partitions);
      if (fromBeginning) {
        consumer.seekToBeginning(partitions);
      } else {
        consumer.seekToEnd(partitions);
      }
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long lastRecord = System.nanoTime();
      while (max == null || printed < max) {
        if (untilEnd && reached(consumer, end)) {
          break;
        }
        var records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty()) {
          if (idleTimeout != null
              && System.nanoTime() - lastRecord > Duration.ofSeconds(idleTimeout).toNanos()) {
            break;
          }
          continue;
        }
        lastRecord = System.nanoTime();
        for (ConsumerRecord<byte[], byte[]> r : records) {
          if (max != null && printed >= max) {
            break;
          }
          if (untilEnd
              && r.offset() >= end.getOrDefault(new TopicPartition(r.topic(), r.partition()), 0L)) {
            continue;
          }
          JsonNode value;
          try {
            GenericContainer decoded = values.deserialize(r.topic(), r.value());
            value =
                decoded == null
                    ? ModelRegistryClient.JSON.nullNode()
                    : AvroJson.toJson(decoded, decoded.getSchema());
          } catch (RuntimeException e) {
            skipped++;
            err.println(
                "flywheel: skipping "
                    + r.topic()
                    + "-"
                    + r.partition()
                    + "@"
                    + r.offset()
                    + ": "
                    + e.getMessage());
            err.flush();
            continue;
          }
          if (metadata) {
            ObjectNode wrapped = ModelRegistryClient.JSON.createObjectNode();
            wrapped.put("topic", r.topic());
            wrapped.put("partition", r.partition());
            wrapped.put("offset", r.offset());
            wrapped.put("timestamp", Instant.ofEpochMilli(r.timestamp()).toString());
            wrapped.put(
                "key", r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8));
            wrapped.set("value", value);
            value = wrapped;
          }
          out.println(value.toString());
          printed++;
        }
        out.flush();
      }
    }
    out.flush();
    if (skipped > 0) {
      err.println("flywheel: " + skipped + " record(s) could not be decoded");
      err.flush();
    }
    return 0;
  }

  static boolean reached(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey(), Duration.ofSeconds(30)) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Every partition of a topic; a clear error when it does not exist or the brokers are
   * unreachable.
   */
  static List<TopicPartition> partitions(
      KafkaConsumer<?, ?> consumer, String topic, String bootstrap) {
    Map<String, List<PartitionInfo>> topics;
    try {
      topics = consumer.listTopics(Duration.ofSeconds(15));
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw new CliException(
          "cannot reach Kafka at "
              + bootstrap
              + " (set --bootstrap-servers or "
              + FlywheelCli.ENV_KAFKA_BOOTSTRAP_SERVERS
              + ")");
    }
    List<PartitionInfo> infos = topics.get(topic);
    if (infos == null || infos.isEmpty()) {
      throw new CliException(
          "no topic '"
              + topic
              + "' on "
              + bootstrap
              + "; topics: "
              + topics.keySet().stream().filter(t -> !t.startsWith("__")).sorted().toList());
    }
    List<TopicPartition> out = new ArrayList<>();
    infos.stream()
        .map(PartitionInfo::partition)
        .sorted()
        .forEach(p -> out.add(new TopicPartition(topic, p)));
    return out;
  }
}
