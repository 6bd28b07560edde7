package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.MICRONAUT;
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

/** SASL/TLS settings reach every Kafka client: Micronaut configs, the pair assembler's env, the pods' volumes. */
class KafkaSecurityTest {

  private static final String TRUSTSTORE_DIR = "/etc/flywheel/kafka/truststore";

  @Test
  void plaintextByDefault() {
    Manifests m = Chart.render();
    for (String component : MICRONAUT) {
      Map<String, Object> props = m.kafkaProperties(component);
      assertEquals(Map.of("security.protocol", "PLAINTEXT"), props, component);
      assertEquals("my-cluster-kafka-bootstrap:9092",
          Manifests.at(m.applicationYaml(component), "flywheel", "kafka", "bootstrap-servers"), component);
      assertEquals("http://schema-registry:8081", Manifests.at(m.applicationYaml(component), "flywheel", "registry", "url"));
      Container c = container(m.deployment(component));
      assertTrue(c.getEnv().stream().noneMatch(e -> e.getName().startsWith("KAFKA_")), component);
    }
    Map<String, String> pairs = pairAssemblerEnv(m);
    assertEquals("PLAINTEXT", pairs.get("PAIR_ASSEMBLER_STREAMS_SECURITY_PROTOCOL"));
    assertEquals("my-cluster-kafka-bootstrap:9092", pairs.get("PAIR_ASSEMBLER_BOOTSTRAP_SERVERS"));
    assertEquals("http://schema-registry:8081", pairs.get("PAIR_ASSEMBLER_SCHEMA_REGISTRY_URL"));
    assertEquals("/var/lib/flywheel/state", pairs.get("PAIR_ASSEMBLER_STATE_DIR"));
  }

  @Test
  void strimziSaslSslReachesEveryClient() {
    Manifests m = Chart.renderExample("strimzi-sasl-ssl");
    for (String component : MICRONAUT) {
      Map<String, Object> props = m.kafkaProperties(component);
      assertEquals("SASL_SSL", props.get("security.protocol"), component);
      assertEquals("SCRAM-SHA-512", props.get("sasl.mechanism"), component);
      assertEquals("${KAFKA_SASL_JAAS_CONFIG}", props.get("sasl.jaas.config"), component);
      assertEquals("PEM", props.get("ssl.truststore.type"), component);
      assertEquals(TRUSTSTORE_DIR + "/ca.crt", props.get("ssl.truststore.location"), component);
      assertEquals("https", props.get("ssl.endpoint.identification.algorithm"), component);
      assertEquals("use_all_dns_ips", props.get("client.dns.lookup"), "extra properties pass through");
      assertEquals("my-cluster-kafka-bootstrap:9093",
          Manifests.at(m.applicationYaml(component), "flywheel", "kafka", "bootstrap-servers"));

      Deployment d = m.deployment(component);
      assertSecretRef(env(container(d), "KAFKA_SASL_JAAS_CONFIG").orElseThrow(), "flywheel", "sasl.jaas.config");
      assertTruststoreMounted(d, "my-cluster-cluster-ca-cert", "ca.crt");
    }

    Map<String, String> pairs = pairAssemblerEnv(m);
    assertEquals("SASL_SSL", pairs.get("PAIR_ASSEMBLER_STREAMS_SECURITY_PROTOCOL"));
    assertEquals("SCRAM-SHA-512", pairs.get("PAIR_ASSEMBLER_STREAMS_SASL_MECHANISM"));
    assertEquals("PEM", pairs.get("PAIR_ASSEMBLER_STREAMS_SSL_TRUSTSTORE_TYPE"));
    assertEquals(TRUSTSTORE_DIR + "/ca.crt", pairs.get("PAIR_ASSEMBLER_STREAMS_SSL_TRUSTSTORE_LOCATION"));
    assertEquals("use_all_dns_ips", pairs.get("PAIR_ASSEMBLER_STREAMS_CLIENT_DNS_LOOKUP"));
    assertEquals("1", pairs.get("PAIR_ASSEMBLER_STREAMS_NUM_STANDBY_REPLICAS"), "pairAssembler.config passes through");
    assertEquals("5m", pairs.get("PAIR_ASSEMBLER_GRACE_PERIOD"));
    assertFalse(pairs.containsKey("PAIR_ASSEMBLER_STREAMS_SASL_JAAS_CONFIG"), "the JAAS config never sits in a ConfigMap");
    Deployment pa = m.deployment("pair-assembler");
    assertSecretRef(env(container(pa), "PAIR_ASSEMBLER_STREAMS_SASL_JAAS_CONFIG").orElseThrow(), "flywheel", "sasl.jaas.config");
    assertTruststoreMounted(pa, "my-cluster-cluster-ca-cert", "ca.crt");
    assertEquals("fw-flywheel-pair-assembler", container(pa).getEnvFrom().get(0).getConfigMapRef().getName());
    assertEquals(List.of(Chart.PREFIX + "feedback-gateway-auth"),
        m.secrets().stream().map(s -> s.getMetadata().getName()).toList(), "Kafka credentials only referenced");
  }

  @Test
  void mutualTlsWithPkcs12StoresAndTheirPasswords() {
    Manifests m = Chart.renderExample("existing-secrets");
    for (String component : MICRONAUT) {
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
      assertSecretRef(env(c, "KAFKA_SSL_TRUSTSTORE_PASSWORD").orElseThrow(), "my-cluster-cluster-ca-cert", "ca.password");
      assertSecretRef(env(c, "KAFKA_SSL_KEYSTORE_PASSWORD").orElseThrow(), "flywheel-tls", "user.password");
      assertTruststoreMounted(d, "my-cluster-cluster-ca-cert", "ca.p12");
      Volume keystore = volume(pod(d), "kafka-keystore").orElseThrow();
      assertEquals("flywheel-tls", keystore.getSecret().getSecretName());
      assertTrue(c.getVolumeMounts().stream().anyMatch(v -> v.getName().equals("kafka-keystore")
          && v.getMountPath().equals("/etc/flywheel/kafka/keystore") && v.getReadOnly()));
    }
    Map<String, String> pairs = pairAssemblerEnv(m);
    assertEquals("/etc/flywheel/kafka/keystore/user.p12", pairs.get("PAIR_ASSEMBLER_STREAMS_SSL_KEYSTORE_LOCATION"));
    assertFalse(pairs.keySet().stream().anyMatch(k -> k.endsWith("_PASSWORD")), "passwords never sit in a ConfigMap");
    Container pa = container(m.deployment("pair-assembler"));
    assertSecretRef(env(pa, "PAIR_ASSEMBLER_STREAMS_SSL_KEYSTORE_PASSWORD").orElseThrow(), "flywheel-tls", "user.password");
    assertSecretRef(env(pa, "PAIR_ASSEMBLER_STREAMS_SSL_TRUSTSTORE_PASSWORD").orElseThrow(),
        "my-cluster-cluster-ca-cert", "ca.password");
  }

  @Test
  void hostNameVerificationCanBeDisabledExplicitly() {
    Manifests m = Chart.render("kafka.securityProtocol=SSL", "kafka.tls.endpointIdentificationAlgorithm=");
    assertEquals("", m.kafkaProperties("serving").get("ssl.endpoint.identification.algorithm"));
    assertFalse(m.kafkaProperties("serving").containsKey("ssl.truststore.location"), "JVM default CAs");
    assertEquals("", pairAssemblerEnv(m).get("PAIR_ASSEMBLER_STREAMS_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM"));
  }

  @Test
  void schemaRegistrySettingsReachEveryComponent() {
    Manifests m = Chart.render("schemaRegistry.url=http://apicurio:8080/apis/ccompat/v7", "schemaRegistry.autoRegister=false");
    for (String component : MICRONAUT) {
      Map<String, Object> yaml = m.applicationYaml(component);
      assertEquals("http://apicurio:8080/apis/ccompat/v7", Manifests.at(yaml, "flywheel", "registry", "url"));
      assertEquals(false, Manifests.at(yaml, "flywheel", "registry", "auto-register"));
    }
    assertEquals("http://apicurio:8080/apis/ccompat/v7", pairAssemblerEnv(m).get("PAIR_ASSEMBLER_SCHEMA_REGISTRY_URL"));
  }

  static Map<String, String> pairAssemblerEnv(Manifests m) {
    return m.configMap(Chart.PREFIX + "pair-assembler").getData();
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
    assertTrue(container(d).getVolumeMounts().stream()
        .anyMatch(mount -> mount.getName().equals("kafka-truststore") && mount.getMountPath().equals(TRUSTSTORE_DIR)
            && mount.getReadOnly()), d.getMetadata().getName());
  }
}
