package dev.flywheel.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The topic-creation hook job: runs CreateTopics with the cluster's address and a --command-config
 * whose secrets Kafka itself reads from mounted Secret files (DirectoryConfigProvider).
 */
class TopicsJobTest {

  private static final String JOB = Chart.PREFIX + "topics";

  @Test
  void isAPreInstallAndPreUpgradeHookWithItsConfigCreatedFirst() throws IOException {
    List<String> lines = Chart.hookAnnotations();
    assertEquals(
        3,
        lines.stream().filter(l -> l.equals("helm.sh/hook: pre-install,pre-upgrade")).count(),
        lines::toString);
    assertEquals(
        2,
        lines.stream().filter(l -> l.equals("helm.sh/hook-weight: \"-10\"")).count(),
        "config and secret first");
    assertEquals(
        1,
        lines.stream().filter(l -> l.equals("helm.sh/hook-weight: \"0\"")).count(),
        "then the job");
    assertTrue(Chart.render().find(Job.class, JOB).isEmpty(), "hooks are not release resources");
  }

  @Test
  void runsCreateTopicsAgainstTheConfiguredCluster() {
    Manifests m = Chart.renderWithHooksAsResources(List.of());
    assertTrue(
        KubernetesValidity.problems(m).isEmpty(), () -> KubernetesValidity.problems(m).toString());
    Job job = m.job(JOB);
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().get(0);
    assertEquals(
        List.of(
            "java",
            "-cp",
            "/app/app.jar",
            "dev.flywheel.infra.topics.CreateTopics",
            "--bootstrap-servers",
            "my-cluster-kafka-bootstrap:9092",
            "--timeout-seconds",
            "120",
            "--command-config",
            "/etc/flywheel/topics/client.properties",
            "--replication-factor",
            "3",
            "--min-insync-replicas",
            "2",
            "--fail-on-replication-shortfall"),
        c.getCommand());
    assertEquals("registry.example.com/flywheel/flywheel-infra:0.1.0", c.getImage());
    assertEquals("Never", pod.getRestartPolicy());
    assertEquals(4, job.getSpec().getBackoffLimit());
    assertNull(
        pod.getServiceAccountName(),
        "the chart's ServiceAccount does not exist yet at pre-install");
    assertFalse(pod.getAutomountServiceAccountToken());
    assertTrue(c.getResources().getLimits().containsKey("memory"));
    assertEquals(Chart.PREFIX + "topics", volume(pod, "config").getConfigMap().getName());
    assertEquals("PLAINTEXT", clientProperties(m).getProperty("security.protocol"));
    assertTrue(
        Chart.renderWithHooksAsResources(List.of(), "topics.create=false")
            .find(Job.class, JOB)
            .isEmpty());
  }

  /**
   * acks=all promises what the topics' replication allows: 3 replicas, 2 in sync unless told
   * otherwise.
   */
  @Test
  void asksForTheConfiguredReplication() {
    Manifests single =
        Chart.renderWithHooksAsResources(
            List.of(),
            "topics.replicationFactor=1",
            "topics.minInsyncReplicas=1",
            "topics.failOnReplicationShortfall=false");
    List<String> command =
        single.job(JOB).getSpec().getTemplate().getSpec().getContainers().get(0).getCommand();
    assertEquals(
        List.of("--replication-factor", "1", "--min-insync-replicas", "1"),
        command.subList(command.size() - 4, command.size()));
    assertFalse(command.contains("--fail-on-replication-shortfall"));

    IllegalStateException tooMany =
        assertThrows(
            IllegalStateException.class,
            () ->
                Chart.template(
                    Chart.DIR,
                    List.of(),
                    "topics.replicationFactor=1",
                    "topics.minInsyncReplicas=2"));
    assertTrue(
        tooMany
            .getMessage()
            .contains("topics.minInsyncReplicas (2) must not exceed topics.replicationFactor (1)"),
        tooMany.getMessage());
    IllegalStateException zero =
        assertThrows(
            IllegalStateException.class,
            () -> Chart.template(Chart.DIR, List.of(), "topics.replicationFactor=0"));
    assertTrue(zero.getMessage().contains("topics.replicationFactor"), zero.getMessage());
  }

  @Test
  void saslSslSecretsReachTheJobAsFilesNeverAsConfig() {
    Manifests m = Chart.renderWithHooksAsResources(List.of(Chart.example("strimzi-sasl-ssl")));
    Properties props = clientProperties(m);
    assertEquals("SASL_SSL", props.getProperty("security.protocol"));
    assertEquals("SCRAM-SHA-512", props.getProperty("sasl.mechanism"));
    assertEquals(
        "${secrets:/etc/flywheel/kafka/sasl:sasl.jaas.config}",
        props.getProperty("sasl.jaas.config"));
    assertEquals(
        "/etc/flywheel/kafka/truststore/ca.crt", props.getProperty("ssl.truststore.location"));
    assertEquals("PEM", props.getProperty("ssl.truststore.type"));
    assertEquals("use_all_dns_ips", props.getProperty("client.dns.lookup"));

    Job job = m.job(JOB);
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    Volume sasl = volume(pod, "kafka-sasl");
    assertEquals("flywheel", sasl.getSecret().getSecretName(), "the KafkaUser's own secret");
    assertEquals("sasl.jaas.config", sasl.getSecret().getItems().get(0).getKey());
    assertEquals("sasl.jaas.config", sasl.getSecret().getItems().get(0).getPath());
    assertEquals(
        "my-cluster-cluster-ca-cert", volume(pod, "kafka-truststore").getSecret().getSecretName());
    Container c = pod.getContainers().get(0);
    assertTrue(
        c.getVolumeMounts().stream()
            .anyMatch(
                v ->
                    v.getName().equals("kafka-sasl")
                        && v.getMountPath().equals("/etc/flywheel/kafka/sasl")));
    assertTrue(
        c.getVolumeMounts().stream()
            .anyMatch(
                v ->
                    v.getName().equals("kafka-truststore")
                        && v.getMountPath().equals("/etc/flywheel/kafka/truststore")));
    assertEquals("my-cluster-kafka-bootstrap:9093", c.getCommand().get(5));
  }

  @Test
  void chartMadeCredentialsGetAHookCopyOfTheSecret() {
    Manifests m = Chart.renderWithHooksAsResources(List.of(), Variants.CHART_SASL);
    Secret copy = m.get(Secret.class, Chart.PREFIX + "topics-kafka-sasl");
    assertEquals(
        m.get(Secret.class, Chart.PREFIX + "kafka-sasl").getStringData(), copy.getStringData());
    Volume sasl = volume(m.job(JOB).getSpec().getTemplate().getSpec(), "kafka-sasl");
    assertEquals(
        Chart.PREFIX + "topics-kafka-sasl",
        sasl.getSecret().getSecretName(),
        "the release's own Secret does not exist yet at pre-install");
    assertFalse(
        m.configMap(Chart.PREFIX + "topics").getData().get("client.properties").contains("s3cr3t"));
  }

  /**
   * The rendered client.properties really make a Kafka client read its secrets from the mounted
   * files.
   */
  @Test
  void kafkaResolvesTheSecretsFromTheMountedFiles(@TempDir Path dir) throws IOException {
    Manifests m =
        Chart.renderWithHooksAsResources(
            List.of(Chart.example("existing-secrets")),
            "kafka.securityProtocol=SASL_SSL",
            "kafka.sasl.existingSecret=flywheel-user");
    String jaas =
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";";
    Files.createDirectories(dir.resolve("sasl"));
    Files.writeString(dir.resolve("sasl/sasl.jaas.config"), jaas);
    Files.createDirectories(dir.resolve("store-passwords"));
    Files.writeString(dir.resolve("store-passwords/truststore.password"), "ca-pw");
    Files.writeString(dir.resolve("store-passwords/keystore.password"), "user-pw");
    PodSpec pod = m.job(JOB).getSpec().getTemplate().getSpec();
    assertEquals(2, volume(pod, "kafka-store-passwords").getProjected().getSources().size());

    String text =
        m.configMap(Chart.PREFIX + "topics")
            .getData()
            .get("client.properties")
            .replace("/etc/flywheel/kafka", dir.toString()); // where the pod mounts the Secrets
    Properties props = new Properties();
    props.load(new StringReader(text));
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9093");
    AdminClientConfig config = new AdminClientConfig(props);
    assertEquals(jaas, config.getPassword("sasl.jaas.config").value());
    assertEquals("ca-pw", config.getPassword("ssl.truststore.password").value());
    assertEquals("user-pw", config.getPassword("ssl.keystore.password").value());
    assertEquals("SASL_SSL", config.getString("security.protocol"));
    assertEquals("PKCS12", config.getString("ssl.keystore.type"));
  }

  private static Properties clientProperties(Manifests m) {
    ConfigMap cm = m.configMap(Chart.PREFIX + "topics");
    Properties props = new Properties();
    try {
      props.load(new StringReader(cm.getData().get("client.properties")));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return props;
  }

  private static Volume volume(PodSpec pod, String name) {
    return Manifests.volume(pod, name).orElseThrow(() -> new AssertionError("no volume " + name));
  }
}
