package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.container;
import static dev.flywheel.helm.Manifests.env;
import static dev.flywheel.helm.Manifests.pod;
import static dev.flywheel.helm.Manifests.volume;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SASL/TLS settings reach every Kafka client: every component's application.yml and env, the pods'
 * volumes.
 */
class KafkaSecurityTest {

  private static final String TRUSTSTORE_DIR = "/etc/flywheel/kafka/truststore";

  @Test
  void plaintextByDefault() {
    Manifests m = Chart.render();
    for (String component : m.micronaut()) {
      Map<String, Object> props = m.kafkaProperties(component);
      assertEquals(Map.of("security.protocol", "PLAINTEXT"), props, component);
      assertEquals(
          "my-cluster-kafka-bootstrap:9092",
          Manifests.at(m.applicationYaml(component), "flywheel", "kafka", "bootstrap-servers"),
          component);
      assertEquals(
          "http://schema-registry:8081",
          Manifests.at(m.applicationYaml(component), "flywheel", "registry", "url"));
      Container c = container(m.deployment(component));
      assertTrue(c.getEnv().stream().noneMatch(e -> e.getName().startsWith("KAFKA_")), component);
    }
    assertEquals(
        "/var/lib/flywheel/state",
        Manifests.at(
            m.applicationYaml("pair-assembler"), "flywheel", "pair-assembler", "state-dir"));
  }

  @Test
  void strimziSaslSslReachesEveryClient() {
    Manifests m = Chart.renderExample("strimzi-sasl-ssl", "rolloutWorker.enabled=true");
    assertEquals(Manifests.MICRONAUT, m.micronaut(), "every component, the optional ones included");
    for (String component : m.micronaut()) {
      Map<String, Object> props = m.kafkaProperties(component);
      assertEquals("SASL_SSL", props.get("security.protocol"), component);
      assertEquals("SCRAM-SHA-512", props.get("sasl.mechanism"), component);
      assertEquals("${KAFKA_SASL_JAAS_CONFIG}", props.get("sasl.jaas.config"), component);
      assertEquals("PEM", props.get("ssl.truststore.type"), component);
      assertEquals(TRUSTSTORE_DIR + "/ca.crt", props.get("ssl.truststore.location"), component);
      assertEquals("https", props.get("ssl.endpoint.identification.algorithm"), component);
      assertEquals(
          "use_all_dns_ips", props.get("client.dns.lookup"), "extra properties pass through");
      assertEquals(
          "my-cluster-kafka-bootstrap:9093",
          Manifests.at(m.applicationYaml(component), "flywheel", "kafka", "bootstrap-servers"));

      Deployment d = m.deployment(component);
      assertSecretRef(
          env(container(d), "KAFKA_SASL_JAAS_CONFIG").orElseThrow(),
          "flywheel",
          "sasl.jaas.config");
      assertTruststoreMounted(d, "my-cluster-cluster-ca-cert", "ca.crt");
    }

    // the pair assembler: Kafka client settings above (handed to every Streams client), its own
    // settings and the
    // Kafka Streams-only ones from pairAssembler.config under flywheel.pair-assembler, nothing from
    // a ConfigMap's env
    Map<String, Object> pairs = m.applicationYaml("pair-assembler");
    assertEquals("5m", Manifests.at(pairs, "flywheel", "pair-assembler", "grace-period"));
    Map<?, ?> streams = (Map<?, ?>) Manifests.at(pairs, "flywheel", "pair-assembler", "streams");
    assertEquals(
        1,
        ((Number) streams.get("num.standby.replicas")).intValue(),
        "Kafka Streams keys as Kafka spells them");
    assertFalse(
        m.kafkaProperties("pair-assembler").containsKey("num.standby.replicas"),
        "a Streams setting, not a client one");
    assertTrue(
        container(m.deployment("pair-assembler")).getEnvFrom().isEmpty(),
        "no env from its ConfigMap");
    assertEquals(
        List.of(Chart.PREFIX + "feedback-gateway-auth"),
        m.secrets().stream().map(s -> s.getMetadata().getName()).toList(),
        "Kafka credentials only referenced");
  }

  @Test
  void mutualTlsWithPkcs12StoresAndTheirPasswords() {
    Manifests m = Chart.renderExample("existing-secrets", "rolloutWorker.enabled=true");
    assertEquals(Manifests.MICRONAUT, m.micronaut(), "every component, the optional ones included");
    for (String component : m.micronaut()) {
      Map<String, Object> props = m.kafkaProperties(component);
      assertEquals("SSL", props.get("security.protocol"));
      assertFalse(props.containsKey("sasl.mechanism"));
      assertEquals("PKCS12", props.get("ssl.truststore.type"));
      assertEquals(TRUSTSTORE_DIR + "/ca.p12", props.get("ssl.truststore.location"));
      assertEquals("${KAFKA_SSL_TRUSTSTORE_PASSWORD}", props.get("ssl.truststore.password"));
      assertEquals("PKCS12", props.get("ssl.keystore.type"));
      assertEquals("/etc/flywheel/kafka/keystore/user.p12", props.get("ssl.keystore.location"));
      assertEquals("${KAFKA_SSL_KEYSTORE_PASSWORD}", props.get("ssl.keystore.password"));
      Deployment d = m.deployment(component);
      Container c = container(d);
      assertSecretRef(
          env(c, "KAFKA_SSL_TRUSTSTORE_PASSWORD").orElseThrow(),
          "my-cluster-cluster-ca-cert",
          "ca.password");
      assertSecretRef(
          env(c, "KAFKA_SSL_KEYSTORE_PASSWORD").orElseThrow(), "flywheel-tls", "user.password");
      assertTruststoreMounted(d, "my-cluster-cluster-ca-cert", "ca.p12");
      Volume keystore = volume(pod(d), "kafka-keystore").orElseThrow();
      assertEquals("flywheel-tls", keystore.getSecret().getSecretName());
      assertTrue(
          c.getVolumeMounts().stream()
              .anyMatch(
                  v ->
                      v.getName().equals("kafka-keystore")
                          && v.getMountPath().equals("/etc/flywheel/kafka/keystore")
                          && v.getReadOnly()));
    }
  }

  @Test
  void hostNameVerificationCanBeDisabledExplicitly() {
    Manifests m =
        Chart.render("kafka.securityProtocol=SSL", "kafka.tls.endpointIdentificationAlgorithm=");
    assertEquals("", m.kafkaProperties("serving").get("ssl.endpoint.identification.algorithm"));
    assertFalse(
        m.kafkaProperties("serving").containsKey("ssl.truststore.location"), "JVM default CAs");
    assertEquals(
        "", m.kafkaProperties("pair-assembler").get("ssl.endpoint.identification.algorithm"));
  }

  @Test
  void schemaRegistrySettingsReachEveryComponent() {
    Manifests m =
        Chart.render(
            "schemaRegistry.url=http://apicurio:8080/apis/ccompat/v7",
            "schemaRegistry.autoRegister=false");
    for (String component : m.micronaut()) {
      Map<String, Object> yaml = m.applicationYaml(component);
      assertEquals(
          "http://apicurio:8080/apis/ccompat/v7",
          Manifests.at(yaml, "flywheel", "registry", "url"));
      assertEquals(false, Manifests.at(yaml, "flywheel", "registry", "auto-register"));
    }
  }

  static void assertSecretRef(EnvVar e, String secret, String key) {
    SecretKeySelector ref = e.getValueFrom().getSecretKeyRef();
    assertEquals(secret, ref.getName(), e.getName());
    assertEquals(key, ref.getKey(), e.getName());
    assertEquals(null, e.getValue(), e.getName() + " must not carry a literal value");
  }

  private static void assertTruststoreMounted(Deployment d, String secret, String key) {
    Volume v = volume(pod(d), "kafka-truststore").orElseThrow();
    assertEquals(secret, v.getSecret().getSecretName());
    assertEquals(List.of(key), v.getSecret().getItems().stream().map(i -> i.getKey()).toList());
    assertTrue(
        container(d).getVolumeMounts().stream()
            .anyMatch(
                mount ->
                    mount.getName().equals("kafka-truststore")
                        && mount.getMountPath().equals(TRUSTSTORE_DIR)
                        && mount.getReadOnly()),
        d.getMetadata().getName());
  }
}
