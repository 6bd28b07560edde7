package dev.flywheel.gateway.publish;

/**
 * The event was not written (Kafka or the schema registry unreachable, or the gateway saturated):
 * answer 503.
 */
public class KafkaUnavailableException extends RuntimeException {

  public KafkaUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
