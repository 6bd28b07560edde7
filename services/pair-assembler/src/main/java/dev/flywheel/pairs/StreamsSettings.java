package dev.flywheel.pairs;

import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.schemas.kafka.KafkaGuarantees;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The Kafka Streams configuration of the pair assembler, from the settings every service reads
 * ({@code flywheel.kafka.*}, {@code flywheel.registry.*}) and its own ({@link
 * PairAssemblerConfig}). Layers, each overriding the one before: the fixed settings below &lt;
 * {@code flywheel.kafka.properties} (client settings such as SASL/TLS, which Kafka Streams hands to
 * all its clients) &lt; {@code flywheel.pair-assembler.streams}. Fixed: {@code
 * processing.guarantee=exactly_once_v2}, {@code auto.offset.reset=earliest}, lz4 producer
 * compression, the dead-letter processing exception handler, the bounded RocksDB config. Neither
 * layer may weaken the delivery guarantees.
 */
public final class StreamsSettings {

  /**
   * Keys whose values are secrets (SASL JAAS configs with passwords, SSL key and store passwords,
   * the registry's basic-auth user info, tokens): never logged.
   */
  private static final Pattern SECRET_KEY =
      Pattern.compile("(?i).*(password|jaas|secret|user\\.info|token|credential|api\\.key).*");

  private StreamsSettings() {}

  /**
   * The complete Kafka Streams properties.
   *
   * @throws IllegalArgumentException when {@code flywheel.kafka.properties} would weaken the
   *     exactly-once guarantee of Kafka Streams (e.g. {@code processing.guarantee=at_least_once})
   */
  public static Properties properties(
      KafkaProperties kafka, RegistryProperties registry, PairAssemblerConfig config) {
    // the client rules were checked when flywheel.kafka.properties was bound; Streams adds
    // processing.guarantee
    KafkaGuarantees.requireStreamsGuarantees(
        KafkaProperties.PROPERTIES_PREFIX, kafka.getProperties());
    KafkaGuarantees.requireStreamsGuarantees(
        PairAssemblerConfig.STREAMS_PREFIX, config.getStreams());
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.getApplicationId());
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers());
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, config.getStateDir());
    props.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterProcessingExceptionHandler.class.getName());
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, "true");
    props.put(
        StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbConfig.class.getName());
    props.put(BoundedRocksDbConfig.MEMORY_MB, Integer.toString(config.getRocksdbMemoryMb()));
    // read by the dead-letter processing exception handler
    props.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.getUrl());
    props.put(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, Boolean.toString(registry.isAutoRegister()));
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    props.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
    props.putAll(kafka.getProperties());
    props.putAll(config.getStreams());
    return props;
  }

  /**
   * {@code settings} sorted by key, with every secret-bearing value replaced by {@code [redacted]}:
   * safe to log.
   */
  public static String redacted(Map<?, ?> settings) {
    Map<String, Object> shown = new TreeMap<>();
    settings.forEach(
        (k, v) ->
            shown.put(k.toString(), SECRET_KEY.matcher(k.toString()).matches() ? "[redacted]" : v));
    return shown.toString();
  }
}
