package dev.flywheel.helm;

import static dev.flywheel.helm.KafkaSecurityTest.assertSecretRef;
import static dev.flywheel.helm.Manifests.container;
import static dev.flywheel.helm.Manifests.env;
import static dev.flywheel.helm.Manifests.pod;
import static dev.flywheel.helm.Manifests.volume;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Secrets are referenced; the chart renders one only from a value that was set, and never
 * elsewhere.
 */
class SecretsTest {

  private static final String HASH =
      "3f1c0a5a9f1d4c7e2b8a6d5e4f3c2b1a0918273645546372819a0b1c2d3e4f5a";

  @Test
  void defaultsRenderNoSecretAndMountNone() {
    Manifests m = Chart.render();
    assertTrue(m.secrets().isEmpty(), () -> "secrets: " + m.secrets());
    for (String component : m.components()) {
      Deployment d = m.deployment(component);
      assertTrue(volume(pod(d), "auth").isEmpty(), component);
      assertTrue(
          container(d).getEnv().stream().noneMatch(e -> e.getValueFrom() != null), component);
    }
  }

  @Test
  void saslWithoutCredentialsFailsInsteadOfRenderingAnEmptySecret() {
    for (String protocol : List.of("SASL_SSL", "SASL_PLAINTEXT")) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () -> Chart.template(Chart.DIR, List.of(), "kafka.securityProtocol=" + protocol));
      assertTrue(e.getMessage().contains("kafka.sasl.existingSecret"), e.getMessage());
    }
  }

  @Test
  void inconsistentKafkaSecurityValuesFail() {
    assertFails(
        "kafka.sasl.username is empty", "kafka.securityProtocol=SASL_SSL", "kafka.sasl.password=x");
    assertFails(
        "needs its own JAAS config",
        "kafka.securityProtocol=SASL_SSL",
        "kafka.sasl.mechanism=OAUTHBEARER",
        "kafka.sasl.username=u",
        "kafka.sasl.password=x");
    assertFails("use SSL or SASL_SSL", "kafka.tls.truststore.existingSecret=ca");
    assertFails("use SASL_PLAINTEXT or SASL_SSL", "kafka.sasl.existingSecret=user");
  }

  @Test
  void chartMadeSaslSecretHoldsTheJaasConfigAndIsOnlyReferenced() {
    Manifests m = Chart.render(Variants.CHART_SASL);
    Secret secret = m.get(Secret.class, Chart.PREFIX + "kafka-sasl");
    assertEquals(
        Map.of(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
                + "username=\"flywheel\" password=\"s3cr3t-Pa55word\";"),
        secret.getStringData());
    for (HasMetadata o : m.objects()) {
      if (!(o instanceof Secret)) {
        String text = Chart.SERIALIZATION.asYaml(o);
        assertFalse(
            text.contains("s3cr3t-Pa55word"),
            o.getKind() + "/" + o.getMetadata().getName() + " holds the password");
      }
    }
    for (String component : m.micronaut()) {
      assertSecretRef(
          env(container(m.deployment(component)), "KAFKA_SASL_JAAS_CONFIG").orElseThrow(),
          Chart.PREFIX + "kafka-sasl",
          "sasl.jaas.config");
      assertEquals("SCRAM-SHA-256", m.kafkaProperties(component).get("sasl.mechanism"));
      assertEquals("SASL_PLAINTEXT", m.kafkaProperties(component).get("security.protocol"));
    }
    // the pair assembler like the others: a placeholder in its application.yml, the value from the
    // Secret
    assertEquals(
        "${KAFKA_SASL_JAAS_CONFIG}", m.kafkaProperties("pair-assembler").get("sasl.jaas.config"));
    assertSecretRef(
        env(container(m.deployment("pair-assembler")), "KAFKA_SASL_JAAS_CONFIG").orElseThrow(),
        Chart.PREFIX + "kafka-sasl",
        "sasl.jaas.config");
  }

  @Test
  void plainSaslUsesThePlainLoginModule() {
    Manifests m =
        Chart.render(
            "kafka.securityProtocol=SASL_SSL",
            "kafka.sasl.mechanism=PLAIN",
            "kafka.sasl.username=key",
            "kafka.sasl.password=secret");
    assertTrue(
        m.get(Secret.class, Chart.PREFIX + "kafka-sasl")
            .getStringData()
            .get("sasl.jaas.config")
            .startsWith(
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"key\""));
  }

  @Test
  void apiKeyHashesBecomeAMountedConfigFile() {
    Manifests m = Chart.renderExample("plain");
    Map<String, String> expectedScopes =
        Map.of(
            "feedback-gateway",
            "transcripts:write",
            "serving",
            "chat:write",
            "model-registry",
            "operator");
    expectedScopes.forEach(
        (component, scope) -> {
          Secret secret = m.get(Secret.class, Chart.PREFIX + component + "-auth");
          Map<String, Object> yaml = Chart.yaml(secret.getStringData().get("auth.yml"));
          @SuppressWarnings("unchecked")
          Map<String, Object> apps =
              (Map<String, Object>) Manifests.at(yaml, "flywheel", "auth", "apps");
          assertEquals(1, apps.size(), component);
          @SuppressWarnings("unchecked")
          Map<String, List<String>> app =
              (Map<String, List<String>>) apps.values().iterator().next();
          assertEquals(1, app.get("key-hashes").size());
          assertTrue(app.get("key-hashes").get(0).matches("[0-9a-f]{64}"));
          assertTrue(app.get("scopes").contains(scope), component + " " + app.get("scopes"));

          Deployment d = m.deployment(component);
          Volume auth = volume(pod(d), "auth").orElseThrow();
          assertEquals(Chart.PREFIX + component + "-auth", auth.getSecret().getSecretName());
          assertEquals("auth.yml", auth.getSecret().getItems().get(0).getPath());
          assertEquals(
              "/etc/flywheel/config/application.yml,/etc/flywheel/auth/auth.yml",
              env(container(d), "MICRONAUT_CONFIG_FILES").orElseThrow().getValue());
        });
    assertEquals(
        HASH,
        ((List<?>)
                Manifests.at(
                    Chart.yaml(
                        m.get(Secret.class, Chart.PREFIX + "feedback-gateway-auth")
                            .getStringData()
                            .get("auth.yml")),
                    "flywheel",
                    "auth",
                    "apps",
                    "shop-app",
                    "key-hashes"))
            .get(0));
    for (String component : List.of("pair-assembler", "reward-trainer", "policy-trainer")) {
      assertTrue(
          volume(pod(m.deployment(component)), "auth").isEmpty(), component + " takes no API keys");
    }
  }

  @Test
  void existingSecretsAndClaimsAreReferencedNotRendered() {
    Manifests m = Chart.renderExample("existing-secrets");
    assertTrue(m.secrets().isEmpty(), () -> "rendered " + m.secrets());
    assertTrue(m.claims().isEmpty(), () -> "rendered " + m.claims());
    Map<String, String> keySecrets =
        Map.of(
            "feedback-gateway",
            "flywheel-gateway-keys",
            "serving",
            "flywheel-serving-keys",
            "model-registry",
            "flywheel-operator-keys");
    keySecrets.forEach(
        (component, secret) -> {
          Volume auth = volume(pod(m.deployment(component)), "auth").orElseThrow();
          assertEquals(secret, auth.getSecret().getSecretName(), component);
          assertEquals("auth.yml", auth.getSecret().getItems().get(0).getKey());
        });
    for (String component : List.of("reward-trainer", "policy-trainer", "model-registry")) {
      assertEquals(
          "flywheel-artifacts",
          volume(pod(m.deployment(component)), "artifacts")
              .orElseThrow()
              .getPersistentVolumeClaim()
              .getClaimName());
    }
    // serving downloads from the registry with the key of an existing Secret, and mounts no
    // artifact volume
    assertTrue(volume(pod(m.deployment("serving")), "artifacts").isEmpty());
    var artifactKey =
        env(container(m.deployment("serving")), "FLYWHEEL_ARTIFACT_REGISTRY_API_KEY")
            .orElseThrow()
            .getValueFrom()
            .getSecretKeyRef();
    assertEquals("flywheel-serving-artifact-key", artifactKey.getName());
    assertEquals("api-key", artifactKey.getKey());
    assertEquals(
        "flywheel-reward-checkpoints",
        volume(pod(m.deployment("reward-trainer")), "checkpoints")
            .orElseThrow()
            .getPersistentVolumeClaim()
            .getClaimName());
    assertEquals(
        "flywheel-policy-checkpoints",
        volume(pod(m.deployment("policy-trainer")), "checkpoints")
            .orElseThrow()
            .getPersistentVolumeClaim()
            .getClaimName());
    assertEquals(
        List.of("ghcr-pull"),
        pod(m.deployment("serving")).getImagePullSecrets().stream().map(r -> r.getName()).toList());
  }

  @Test
  void claimsRenderedByDefaultWithTheirStorageSettings() {
    Manifests m =
        Chart.render("artifacts.persistence.storageClass=nfs", "artifacts.persistence.size=50Gi");
    var artifacts =
        m.get(
            io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class,
            Chart.PREFIX + "artifacts");
    assertEquals(List.of("ReadWriteMany"), artifacts.getSpec().getAccessModes());
    assertEquals("nfs", artifacts.getSpec().getStorageClassName());
    assertEquals(
        "50Gi", artifacts.getSpec().getResources().getRequests().get("storage").toString());
    for (String trainer : Manifests.TRAINERS) {
      var claim =
          m.get(
              io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class,
              Chart.PREFIX + trainer + "-checkpoints");
      assertEquals(List.of("ReadWriteOnce"), claim.getSpec().getAccessModes());
    }
    var noClass =
        m.get(
            io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class,
            Chart.PREFIX + "reward-trainer-checkpoints");
    assertEquals(null, noClass.getSpec().getStorageClassName(), "empty: the cluster default");
    var staticPv =
        Chart.render("artifacts.persistence.storageClass=-")
            .get(
                io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class,
                Chart.PREFIX + "artifacts");
    assertEquals("", staticPv.getSpec().getStorageClassName(), "\"-\": no class");
  }

  private static void assertFails(String messagePart, String... sets) {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> Chart.template(Chart.DIR, List.of(), sets),
            () -> "expected a failure for " + List.of(sets));
    assertTrue(e.getMessage().contains(messagePart), e.getMessage());
  }
}
