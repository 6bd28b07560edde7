package dev.flywheel.kit.kafka;

import dev.flywheel.schemas.kafka.KafkaGuarantees;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.annotation.Context;
import io.micronaut.core.convert.format.MapFormat;
import io.micronaut.core.naming.conventions.StringConvention;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code flywheel.kafka.*}: where the brokers are, plus any Kafka client property passed through as
 * is ({@code flywheel.kafka.properties."security.protocol": SSL}, ...), applied to every client the
 * service creates.
 *
 * <p>A property that would weaken the platform's delivery guarantees ({@code acks} other than
 * {@code all}/{@code -1}, {@code enable.idempotence=false}, {@code
 * isolation.level=read_uncommitted}) is refused ({@link KafkaGuarantees}): the bean is created
 * eagerly, so such a setting fails start-up with a message naming it, e.g. {@code
 * flywheel.kafka.properties.acks=1 would weaken the delivery guarantee}.
 */
@Context // eager: a weakening override fails start-up, not the first client created
@ConfigurationProperties("flywheel.kafka")
public class KafkaProperties {

  /** How the extra client properties are spelled in the configuration, for error messages. */
  public static final String PROPERTIES_PREFIX = "flywheel.kafka.properties.";

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

  /**
   * Sets the extra client properties.
   *
   * @throws IllegalArgumentException naming each property that would weaken a delivery guarantee
   */
  public void setProperties(
      @MapFormat(
              transformation = MapFormat.MapTransformation.FLAT,
              keyFormat = StringConvention.RAW)
          Map<String, String> properties) {
    Map<String, String> copy =
        properties == null ? new LinkedHashMap<>() : new LinkedHashMap<>(properties);
    KafkaGuarantees.requireClientGuarantees(PROPERTIES_PREFIX, copy);
    this.properties = copy;
  }
}
