package dev.flywheel.schemas.topics;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;

/**
 * One topic of the platform: its name, key, value contract, partitions and retention. Its
 * replication is not declared here but per environment ({@link TopicReplication}): {@link
 * #topicConfigs(TopicReplication)} adds the {@code min.insync.replicas} of one.
 *
 * @param name topic name
 * @param keyDescription what the (string) key holds, e.g. "transcriptId"
 * @param valueType generated Avro class of the value
 * @param partitions number of partitions
 * @param cleanupPolicy {@code delete} or {@code compact}
 * @param retention how long records are kept; {@code null} means forever
 * @param doc one line on what flows through it
 */
public record TopicSpec<V extends SpecificRecord>(
    String name,
    String keyDescription,
    Class<V> valueType,
    int partitions,
    CleanupPolicy cleanupPolicy,
    Duration retention,
    String doc) {

  public enum CleanupPolicy {
    DELETE("delete"),
    COMPACT("compact");

    private final String configValue;

    CleanupPolicy(String configValue) {
      this.configValue = configValue;
    }

    public String configValue() {
      return configValue;
    }
  }

  public TopicSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(valueType, "valueType");
    Objects.requireNonNull(cleanupPolicy, "cleanupPolicy");
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1 for " + name);
    }
  }

  /** The value's Avro schema, as generated from the {@code .avsc}. */
  public Schema valueSchema() {
    try {
      return (Schema) valueType.getField("SCHEMA$").get(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(valueType + " is not a generated Avro class", e);
    }
  }

  /** Registry subject for the value under TopicNameStrategy. */
  public String valueSubject() {
    return name + "-value";
  }

  /** Broker-side topic configs ({@code cleanup.policy}, {@code retention.ms}). */
  public Map<String, String> topicConfigs() {
    Map<String, String> configs = new LinkedHashMap<>();
    configs.put("cleanup.policy", cleanupPolicy.configValue());
    configs.put("retention.ms", retention == null ? "-1" : Long.toString(retention.toMillis()));
    if (cleanupPolicy == CleanupPolicy.COMPACT) {
      // keep superseded version records long enough for slow readers to see every transition
      configs.put("min.compaction.lag.ms", Long.toString(Duration.ofHours(1).toMillis()));
    }
    return configs;
  }

  /** {@link #topicConfigs()} plus the {@code min.insync.replicas} of {@code replication}. */
  public Map<String, String> topicConfigs(TopicReplication replication) {
    Map<String, String> configs = topicConfigs();
    configs.putAll(replication.topicConfigs());
    return configs;
  }
}
