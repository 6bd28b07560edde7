package dev.flywheel.helm;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** The value sets every structural test runs against. */
final class Variants {

  /** A SASL_PLAINTEXT cluster with credentials given in the values (the chart makes the Secret). */
  static final String[] CHART_SASL = {
    "kafka.securityProtocol=SASL_PLAINTEXT",
    "kafka.sasl.mechanism=SCRAM-SHA-256",
    "kafka.sasl.username=flywheel",
    "kafka.sasl.password=s3cr3t-Pa55word"
  };

  private Variants() {}

  static Stream<Arguments> all() {
    return Stream.of(
        variant("defaults", () -> Chart.render()),
        variant("plain example", () -> Chart.renderExample("plain")),
        variant("strimzi SASL_SSL example", () -> Chart.renderExample("strimzi-sasl-ssl")),
        variant("existing secrets/claims example", () -> Chart.renderExample("existing-secrets")),
        variant("chart-made SASL secret", () -> Chart.render(CHART_SASL)),
        variant(
            "replicated registry, narrowed network policies",
            () ->
                Chart.render(
                    "modelRegistry.replicas=3",
                    "feedbackGateway.podDisruptionBudget.maxUnavailable=25%",
                    "networkPolicy.managementFrom[0].namespaceSelector.matchLabels.team=monitoring",
                    "networkPolicy.publicFrom[0].namespaceSelector.matchLabels.team=ingress",
                    "networkPolicy.registryFrom[0].podSelector.matchLabels.app=ops-console")),
        variant("rollout workers", () -> Chart.render(RolloutWorkerChartTest.ENABLED)),
        variant(
            "autoscaling, no persistence",
            () ->
                Chart.render(
                    "feedbackGateway.autoscaling.enabled=true",
                    "pairAssembler.autoscaling.enabled=true",
                    "serving.autoscaling.enabled=true",
                    "rolloutWorker.enabled=true",
                    "rolloutWorker.autoscaling.enabled=true",
                    "artifacts.persistence.enabled=false",
                    "rewardTrainer.checkpoints.persistence.enabled=false",
                    "policyTrainer.checkpoints.persistence.enabled=false")));
  }

  static List<Path> examples() {
    return List.of(
        Chart.example("plain"),
        Chart.example("strimzi-sasl-ssl"),
        Chart.example("existing-secrets"));
  }

  private static Arguments variant(String name, Supplier<Manifests> render) {
    return Arguments.of(name, render);
  }
}
