package dev.flywheel.gateway;

import dev.flywheel.gateway.publish.FeedbackEventPublisher;
import dev.flywheel.kit.kafka.KafkaProperties;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.reactivestreams.Publisher;

/**
 * {@code /health} component "kafka": UP when the cluster answers a describe within 2 s (details:
 * broker count, producer generation and retirements).
 */
@Singleton
public class KafkaHealthIndicator implements HealthIndicator {

  private final KafkaProperties kafka;
  private final FeedbackEventPublisher publisher;
  private Admin admin;

  public KafkaHealthIndicator(KafkaProperties kafka, FeedbackEventPublisher publisher) {
    this.kafka = kafka;
    this.publisher = publisher;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    return Publishers.fromCompletableFuture(this::check);
  }

  private CompletableFuture<HealthResult> check() {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("producerGeneration", publisher.generation());
    details.put("producerRetirements", publisher.retirements());
    try {
      return admin()
          .describeCluster(new DescribeClusterOptions().timeoutMs(2000))
          .nodes()
          .toCompletionStage()
          .toCompletableFuture()
          .handle(
              (nodes, error) -> {
                if (error != null) {
                  details.put("error", String.valueOf(error.getMessage()));
                  return HealthResult.builder("kafka", HealthStatus.DOWN).details(details).build();
                }
                details.put("brokers", nodes.size());
                return HealthResult.builder("kafka", HealthStatus.UP).details(details).build();
              });
    } catch (RuntimeException e) {
      details.put("error", e.toString());
      return CompletableFuture.completedFuture(
          HealthResult.builder("kafka", HealthStatus.DOWN).details(details).build());
    }
  }

  private synchronized Admin admin() {
    if (admin == null) {
      Map<String, Object> config = new HashMap<>(kafka.getProperties());
      config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers());
      config.put(AdminClientConfig.CLIENT_ID_CONFIG, "feedback-gateway-health");
      config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
      config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2000);
      admin = Admin.create(config);
    }
    return admin;
  }

  @PreDestroy
  synchronized void close() {
    if (admin != null) {
      admin.close(Duration.ofSeconds(2));
    }
  }
}
