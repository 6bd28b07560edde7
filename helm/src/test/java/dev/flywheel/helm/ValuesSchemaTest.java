package dev.flywheel.helm;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * values.schema.json refuses bad values: helm template (like install/upgrade/lint) fails, naming
 * the field.
 */
class ValuesSchemaTest {

  @TempDir static Path tmp;

  static Stream<Arguments> badSets() {
    return Stream.of(
        Arguments.of("feedbackGateway.replicas=-1", "feedbackGateway.replicas"),
        Arguments.of("pairAssembler.replicas=-3", "pairAssembler.replicas"),
        Arguments.of("serving.replicas=-1", "serving.replicas"),
        Arguments.of("modelRegistry.replicas=-2", "modelRegistry.replicas"),
        Arguments.of("rewardTrainer.replicas=2", "rewardTrainer"),
        Arguments.of("policyTrainer.replicas=3", "policyTrainer"),
        Arguments.of("kafka.securityProtocol=SASL", "kafka.securityProtocol"),
        Arguments.of("kafka.sasl.mechanism=SCRAM", "kafka.sasl.mechanism"),
        Arguments.of("kafka.bootstrapServers=my-cluster-kafka-bootstrap", "kafka.bootstrapServers"),
        Arguments.of("kafka.tls.truststore.type=P12", "kafka.tls.truststore.type"),
        Arguments.of("schemaRegistry.url=schema-registry:8081", "schemaRegistry.url"),
        Arguments.of("image.pullPolicy=Sometimes", "image.pullPolicy"),
        Arguments.of(
            "feedbackGateway.resources.limits.memory=lots",
            "feedbackGateway.resources.limits.memory"),
        Arguments.of(
            "feedbackGateway.health.readinessPath=health", "feedbackGateway.health.readinessPath"),
        Arguments.of(
            "feedbackGateway.autoscaling.maxReplicas=0", "feedbackGateway.autoscaling.maxReplicas"),
        Arguments.of("serving.torchThreads=0", "serving.torchThreads"),
        Arguments.of("artifacts.mountPath=artifacts", "artifacts.mountPath"),
        // its config is an application.yml now: the pre-Micronaut flat keys would be silently
        // ignored
        Arguments.of("pairAssembler.config.grace\\.period=5m", "pairAssembler.config"),
        Arguments.of(
            "pairAssembler.config.streams\\.num\\.standby\\.replicas=1", "pairAssembler.config"),
        Arguments.of("pairAssembler.config=grace.period", "pairAssembler.config"),
        Arguments.of("pairAssembler.rocksdbMemoryMb=0", "pairAssembler.rocksdbMemoryMb"),
        Arguments.of("pairAssembler.applicationId=", "pairAssembler.applicationId"),
        Arguments.of("replicaCount=3", "replicaCount"),
        // hardening the chart must keep (#15 item 14)
        Arguments.of("podSecurityContext.runAsNonRoot=false", "podSecurityContext.runAsNonRoot"),
        Arguments.of("podSecurityContext.runAsNonRoot=null", "runAsNonRoot"),
        Arguments.of(
            "containerSecurityContext.readOnlyRootFilesystem=false",
            "containerSecurityContext.readOnlyRootFilesystem"),
        Arguments.of(
            "containerSecurityContext.allowPrivilegeEscalation=true",
            "containerSecurityContext.allowPrivilegeEscalation"),
        Arguments.of("serving.resources.limits.cpu=null", "serving.resources.limits"),
        Arguments.of(
            "modelRegistry.resources.requests.memory=null", "modelRegistry.resources.requests"),
        Arguments.of("serving.tmp.sizeLimit=lots", "serving.tmp.sizeLimit"),
        Arguments.of("policyTrainer.data=null", "policyTrainer"),
        Arguments.of(
            "feedbackGateway.podDisruptionBudget.maxUnavailable=-1",
            "feedbackGateway.podDisruptionBudget.maxUnavailable"),
        Arguments.of(
            "serving.podDisruptionBudget.maxUnavailable=half",
            "serving.podDisruptionBudget.maxUnavailable"),
        Arguments.of("rewardTrainer.podDisruptionBudget.enabled=true", "rewardTrainer"),
        Arguments.of("management.port=8080", "management.port"),
        Arguments.of("management.port=80", "management.port"),
        Arguments.of("networkPolicy.managementFrom[0].pods=all", "networkPolicy.managementFrom"),
        Arguments.of("serving.artifactRegistry.url=http://x", "serving.artifactRegistry"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badSets")
  void rejects(String set, String field) {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> Chart.template(Chart.DIR, List.of(), set),
            () -> set + " was accepted");
    assertTrue(e.getMessage().contains("schema"), e.getMessage());
    assertTrue(
        e.getMessage().contains(field),
        () -> "the message should name " + field + ": " + e.getMessage());
  }

  static Stream<Arguments> badFiles() {
    return Stream.of(
        Arguments.of(
            "plaintext API key instead of its hash",
            """
            feedbackGateway:
              auth:
                apps:
                  shop-app:
                    keyHashes: [fwk_Q2xhc3NpZmllZCBhcyBhIHBsYWludGV4dCBrZXkgZm9yIHRoZSB0ZXN0]
                    scopes: [rankings:write]
            """,
            "keyHashes"),
        Arguments.of(
            "app without scopes",
            """
            serving:
              auth:
                apps:
                  chat-app:
                    keyHashes: [3f1c0a5a9f1d4c7e2b8a6d5e4f3c2b1a0918273645546372819a0b1c2d3e4f5a]
            """,
            "scopes"),
        Arguments.of(
            "unknown access mode",
            """
            artifacts:
              persistence:
                accessModes: [ReadWriteSometimes]
            """,
            "accessModes"),
        Arguments.of(
            "replicas as text",
            """
            feedbackGateway:
              replicas: "two"
            """,
            "feedbackGateway.replicas"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badFiles")
  void rejectsFile(String what, String yaml, String field) throws IOException {
    Path file = Files.writeString(Files.createTempFile(tmp, "values-", ".yaml"), yaml);
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> Chart.template(Chart.DIR, List.of(file)),
            () -> what + " was accepted");
    assertTrue(e.getMessage().contains("schema"), e.getMessage());
    assertTrue(
        e.getMessage().contains(field),
        () -> "the message should name " + field + ": " + e.getMessage());
  }

  @Test
  void acceptsTheBoundaryValuesAndEveryExample() {
    assertDoesNotThrow(
        () ->
            Chart.template(
                Chart.DIR,
                List.of(),
                "feedbackGateway.replicas=0",
                "pairAssembler.replicas=0",
                "serving.replicas=0",
                "modelRegistry.replicas=0",
                "rolloutWorker.enabled=true",
                "rolloutWorker.replicas=0"));
    for (Path example : Variants.examples()) {
      assertDoesNotThrow(() -> Chart.template(Chart.DIR, List.of(example)), example.toString());
    }
  }
}
