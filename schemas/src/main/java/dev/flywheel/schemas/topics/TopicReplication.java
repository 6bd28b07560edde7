package dev.flywheel.schemas.topics;

import java.util.Map;

/**
 * How many copies of every partition a catalogue topic keeps ({@code replication.factor}) and how
 * many of them must have a write before an {@code acks=all} producer is answered ({@code
 * min.insync.replicas}). Without both, {@code acks=all} promises nothing: a topic with one replica,
 * or with {@code min.insync.replicas=1}, acknowledges writes that one broker failure loses.
 *
 * <p>Chosen per environment, not per topic: {@link #SINGLE_BROKER} for the local platform and the
 * tests (one embedded broker), {@link #PRODUCTION} (3 replicas, 2 in sync: one broker may be down
 * and writes still succeed without losing an acknowledged record) for a real cluster, which the
 * Helm chart's topic job asks for through its {@code topics.replicationFactor} and {@code
 * topics.minInsyncReplicas} values.
 *
 * @param factor replicas of every partition, at least 1
 * @param minInsyncReplicas replicas that must have an {@code acks=all} write, 1 to {@code factor}
 */
public record TopicReplication(int factor, int minInsyncReplicas) {

  /** Topic config key of the minimum in-sync replicas. */
  public static final String MIN_INSYNC_REPLICAS = "min.insync.replicas";

  /** One replica, one in sync: the single broker of the local platform and of the tests. */
  public static final TopicReplication SINGLE_BROKER = new TopicReplication(1, 1);

  /** Three replicas, two in sync: a production cluster (the Helm chart's default). */
  public static final TopicReplication PRODUCTION = new TopicReplication(3, 2);

  public TopicReplication {
    if (factor < 1 || factor > Short.MAX_VALUE) {
      throw new IllegalArgumentException(
          "replication factor must be in [1, " + Short.MAX_VALUE + "], got " + factor);
    }
    if (minInsyncReplicas < 1 || minInsyncReplicas > factor) {
      throw new IllegalArgumentException(
          "min.insync.replicas must be in [1, replication factor "
              + factor
              + "], got "
              + minInsyncReplicas);
    }
  }

  /** The broker-side topic config this asks for: {@code min.insync.replicas}. */
  public Map<String, String> topicConfigs() {
    return Map.of(MIN_INSYNC_REPLICAS, Integer.toString(minInsyncReplicas));
  }

  @Override
  public String toString() {
    return "replication factor " + factor + ", min.insync.replicas " + minInsyncReplicas;
  }
}
