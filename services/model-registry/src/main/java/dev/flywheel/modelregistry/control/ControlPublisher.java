package dev.flywheel.modelregistry.control;

import dev.flywheel.events.ModelControl;
import dev.flywheel.kit.kafka.AvroProducerFactory;
import dev.flywheel.modelregistry.kafka.RegistryTopics;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/** Writes control events to {@code models.control} with {@code acks=all} and waits for the ack. */
@Singleton
public class ControlPublisher implements AutoCloseable {

  /** Thrown when the broker did not acknowledge in time or refused the record. */
  public static class PublishException extends Exception {
    PublishException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final AvroProducerFactory factory;
  private final RegistryTopics topics;
  private final Duration timeout;
  private volatile KafkaProducer<String, ModelControl> producer;

  public ControlPublisher(
      AvroProducerFactory factory,
      RegistryTopics topics,
      @Value("${flywheel.model-registry.control.timeout:15s}") Duration timeout) {
    this.factory = factory;
    this.topics = topics;
    this.timeout = timeout;
  }

  /** Sends the event keyed by model kind; returns once the broker acknowledged it. */
  public RecordMetadata publish(ModelControl event) throws PublishException {
    ProducerRecord<String, ModelControl> record =
        new ProducerRecord<>(topics.getControl(), event.getModelKind().name(), event);
    try {
      return producer().send(record).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PublishException("interrupted", e);
    } catch (ExecutionException e) {
      throw new PublishException(String.valueOf(e.getCause()), e.getCause());
    } catch (TimeoutException e) {
      throw new PublishException("no acknowledgement within " + timeout, e);
    } catch (RuntimeException e) {
      throw new PublishException(e.toString(), e);
    }
  }

  private KafkaProducer<String, ModelControl> producer() {
    KafkaProducer<String, ModelControl> p = producer;
    if (p == null) {
      synchronized (this) {
        if (producer == null) {
          long ms = timeout.toMillis();
          producer =
              factory.create(
                  "model-registry-control",
                  Map.of(
                      ProducerConfig.ACKS_CONFIG, "all",
                      ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Math.min(Integer.MAX_VALUE, ms),
                      ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                          (int) Math.min(Integer.MAX_VALUE, ms),
                      ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
                          (int) Math.min(Integer.MAX_VALUE, ms / 2),
                      ProducerConfig.LINGER_MS_CONFIG, 0));
        }
        p = producer;
      }
    }
    return p;
  }

  @PreDestroy
  @Override
  public synchronized void close() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
      producer = null;
    }
  }
}
