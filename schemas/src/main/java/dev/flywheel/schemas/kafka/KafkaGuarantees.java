package dev.flywheel.schemas.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The delivery guarantees every Flywheel Kafka client keeps, whatever extra client properties a
 * user configures: producers write with {@code acks=all} and idempotence, consumers read {@code
 * read_committed}, and Kafka Streams runs exactly-once v2. An override that weakens one of them
 * ({@code acks=1}, {@code enable.idempotence=false}, {@code isolation.level=read_uncommitted},
 * {@code processing.guarantee=at_least_once}) is refused at start-up with a message naming the
 * property, rather than applied silently. Every other property (security, timeouts, {@code
 * client.id}) passes.
 *
 * <p>One rule for every entry point: the Micronaut services' {@code flywheel.kafka.properties.*},
 * the trainer kit's {@code KafkaSettings} and the pair assembler's {@code streams.*} keys.
 */
public final class KafkaGuarantees {

  public static final String ACKS = "acks";
  public static final String ENABLE_IDEMPOTENCE = "enable.idempotence";
  public static final String ISOLATION_LEVEL = "isolation.level";
  public static final String PROCESSING_GUARANTEE = "processing.guarantee";
  public static final String EXACTLY_ONCE_V2 = "exactly_once_v2";

  /**
   * Prefixes under which Kafka Streams hands a setting to one kind of its clients (as {@code
   * StreamsConfig.producerPrefix} and friends spell them), longest first.
   */
  private static final List<String> STREAMS_CLIENT_PREFIXES =
      List.of("main.consumer.", "restore.consumer.", "global.consumer.", "producer.", "consumer.");

  private KafkaGuarantees() {}

  /**
   * Refuses client properties that weaken a guarantee.
   *
   * @param prefix how the user spelled the keys' prefix, for the message (e.g. {@code
   *     flywheel.kafka.properties.}); may be empty
   * @param properties extra Kafka client properties, keys as Kafka spells them
   * @throws IllegalArgumentException naming every weakening property
   */
  public static void requireClientGuarantees(String prefix, Map<String, ?> properties) {
    throwIfAny(clientViolations(prefix, properties));
  }

  /**
   * Refuses Kafka Streams properties that weaken a guarantee: a {@code processing.guarantee} other
   * than exactly-once v2, and the client rules, also under Streams' per-client prefixes ({@code
   * producer.acks}, {@code main.consumer.isolation.level}, ...).
   *
   * @param prefix how the user spelled the keys' prefix, for the message (e.g. {@code streams.})
   * @param properties Kafka Streams properties, keys as Kafka Streams spells them
   * @throws IllegalArgumentException naming every weakening property
   */
  public static void requireStreamsGuarantees(String prefix, Map<String, ?> properties) {
    throwIfAny(streamsViolations(prefix, properties));
  }

  /** One message per client property that weakens a guarantee; empty when none does. */
  public static List<String> clientViolations(String prefix, Map<String, ?> properties) {
    List<String> violations = new ArrayList<>();
    properties.forEach((key, value) -> checkClient(prefix, key, key, value, violations));
    return violations;
  }

  /** One message per Kafka Streams property that weakens a guarantee; empty when none does. */
  public static List<String> streamsViolations(String prefix, Map<String, ?> properties) {
    List<String> violations = new ArrayList<>();
    properties.forEach(
        (key, value) -> {
          if (key.equals(PROCESSING_GUARANTEE)) {
            if (value != null && !text(value).equals(EXACTLY_ONCE_V2)) {
              violations.add(
                  message(prefix, key, value, PROCESSING_GUARANTEE + "=" + EXACTLY_ONCE_V2));
            }
            return;
          }
          String clientKey = key;
          for (String clientPrefix : STREAMS_CLIENT_PREFIXES) {
            if (key.startsWith(clientPrefix)) {
              clientKey = key.substring(clientPrefix.length());
              break;
            }
          }
          checkClient(prefix, key, clientKey, value, violations);
        });
    return violations;
  }

  private static void checkClient(
      String prefix, String key, String clientKey, Object value, List<String> violations) {
    if (value == null) {
      return;
    }
    String v = text(value).toLowerCase(Locale.ROOT);
    switch (clientKey) {
      case ACKS -> {
        if (!v.equals("all") && !v.equals("-1")) {
          violations.add(message(prefix, key, value, ACKS + "=all"));
        }
      }
      case ENABLE_IDEMPOTENCE -> {
        if (!v.equals("true")) {
          violations.add(message(prefix, key, value, ENABLE_IDEMPOTENCE + "=true"));
        }
      }
      case ISOLATION_LEVEL -> {
        if (!v.equals("read_committed")) {
          violations.add(message(prefix, key, value, ISOLATION_LEVEL + "=read_committed"));
        }
      }
      default -> {}
    }
  }

  private static String text(Object value) {
    return String.valueOf(value).trim();
  }

  private static String message(String prefix, String key, Object value, String required) {
    return (prefix == null ? "" : prefix)
        + key
        + "="
        + value
        + " would weaken the delivery guarantee ("
        + required
        + " is required)";
  }

  private static void throwIfAny(List<String> violations) {
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", violations));
    }
  }
}
