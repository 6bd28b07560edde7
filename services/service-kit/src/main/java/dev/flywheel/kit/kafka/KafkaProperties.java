package dev.flywheel.kit.kafka;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.convert.format.MapFormat;
import io.micronaut.core.naming.conventions.StringConvention;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code flywheel.kafka.*}: where the brokers are, plus any Kafka client property passed through as is
 * ({@code flywheel.kafka.properties."security.protocol": SSL}, ...), applied to every client the service
 * creates.
 */
@ConfigurationProperties("flywheel.kafka")
public class KafkaProperties {

  private String bootstrapServers = "localhost:9092";
  private Map<String, String> properties = new LinkedHashMap<>();

  public String getBootstrapServers() {
    return bootstrapServers;
  }

  public void setBootstrapServers(String bootstrapServers) {
    this.bootstrapServers = bootstrapServers;
  }

  /** Extra Kafka client properties, keys exactly as Kafka spells them. */
  public Map<String, String> getProperties() {
    return properties;
  }

  public void setProperties(
      @MapFormat(transformation = MapFormat.MapTransformation.FLAT, keyFormat = StringConvention.RAW)
      Map<String, String> properties) {
    this.properties = properties == null ? new LinkedHashMap<>() : new LinkedHashMap<>(properties);
  }
}
