package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.container;
import static dev.flywheel.helm.Manifests.env;
import static dev.flywheel.helm.Manifests.pod;
import static dev.flywheel.helm.Manifests.volume;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pair assembler is deployed like every Micronaut component: its settings are an
 * application.yml (flywheel.kafka.*, flywheel.registry.*, the management port,
 * flywheel.pair-assembler.*) read through MICRONAUT_CONFIG_FILES, its Kafka Streams state on an
 * emptyDir at the configured state-dir, and none of the PAIR_ASSEMBLER_* environment of the
 * application it was before.
 */
class PairAssemblerChartTest {

  private static final String STATE_DIR = "/var/lib/flywheel/state";

  @Test
  void itsApplicationYmlHoldsWhatTheStreamsAppReads() {
    Map<String, Object> yaml = Chart.render().applicationYaml("pair-assembler");
    assertEquals(
        "my-cluster-kafka-bootstrap:9092",
        Manifests.at(yaml, "flywheel", "kafka", "bootstrap-servers"));
    assertEquals(
        Map.of("security.protocol", "PLAINTEXT"),
        Manifests.at(yaml, "flywheel", "kafka", "properties"));
    assertEquals("http://schema-registry:8081", Manifests.at(yaml, "flywheel", "registry", "url"));
    assertEquals(true, Manifests.at(yaml, "flywheel", "registry", "auto-register"));
    assertEquals(8080, ((Number) Manifests.at(yaml, "micronaut", "server", "port")).intValue());
    assertEquals(8081, ((Number) Manifests.at(yaml, "endpoints", "all", "port")).intValue());
    assertEquals(
        Map.of(
            "state-dir",
            STATE_DIR,
            "application-id",
            "flywheel-pair-assembler",
            "rocksdb-memory-mb",
            128),
        Manifests.at(yaml, "flywheel", "pair-assembler"),
        "only what the chart decides; the rest is the jar's defaults");
  }

  @Test
  void theSettingsFollowTheirValues() {
    Manifests m =
        Chart.render(
            "pairAssembler.applicationId=pairs-blue",
            "pairAssembler.rocksdbMemoryMb=256",
            "management.port=9464",
            "kafka.bootstrapServers=kafka-a.kafka.svc:9093",
            "schemaRegistry.url=http://apicurio:8080/apis/ccompat/v7",
            "schemaRegistry.autoRegister=false");
    Map<String, Object> yaml = m.applicationYaml("pair-assembler");
    assertEquals("pairs-blue", Manifests.at(yaml, "flywheel", "pair-assembler", "application-id"));
    assertEquals(
        256,
        ((Number) Manifests.at(yaml, "flywheel", "pair-assembler", "rocksdb-memory-mb"))
            .intValue());
    assertEquals(9464, ((Number) Manifests.at(yaml, "endpoints", "all", "port")).intValue());
    assertEquals(
        "kafka-a.kafka.svc:9093", Manifests.at(yaml, "flywheel", "kafka", "bootstrap-servers"));
    assertEquals(
        "http://apicurio:8080/apis/ccompat/v7", Manifests.at(yaml, "flywheel", "registry", "url"));
    assertEquals(false, Manifests.at(yaml, "flywheel", "registry", "auto-register"));
    assertNotEquals(
        checksum(Chart.render()),
        checksum(Chart.render("pairAssembler.applicationId=pairs-blue")),
        "a new application id rolls the pods");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void itReadsItsConfigFileAndWritesItsStateToAnEmptyDir(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    Deployment d = m.deployment("pair-assembler");
    Container c = container(d);
    assertEquals(
        "/etc/flywheel/config/application.yml",
        env(c, "MICRONAUT_CONFIG_FILES").orElseThrow().getValue());
    assertEquals(
        Chart.PREFIX + "pair-assembler",
        volume(pod(d), "config").orElseThrow().getConfigMap().getName());
    assertTrue(
        c.getVolumeMounts().stream()
            .anyMatch(
                v ->
                    v.getName().equals("config")
                        && v.getMountPath().equals("/etc/flywheel/config")
                        && v.getReadOnly()),
        variant);
    assertTrue(c.getEnvFrom().isEmpty(), variant);

    assertEquals(
        STATE_DIR,
        Manifests.at(
            m.applicationYaml("pair-assembler"), "flywheel", "pair-assembler", "state-dir"));
    VolumeMount state =
        c.getVolumeMounts().stream()
            .filter(v -> v.getMountPath().equals(STATE_DIR))
            .findFirst()
            .orElseThrow(() -> new AssertionError(variant + ": nothing mounted at the state-dir"));
    assertFalse(Boolean.TRUE.equals(state.getReadOnly()), variant);
    Volume volume = volume(pod(d), state.getName()).orElseThrow();
    assertEquals(
        "2Gi", volume.getEmptyDir().getSizeLimit().toString(), "pairAssembler.state.sizeLimit");
    for (String other : List.of("feedback-gateway", "serving", "reward-trainer")) {
      assertTrue(
          volume(pod(m.deployment(other)), "state").isEmpty(), other + " is no Kafka Streams app");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void noPairAssemblerVariableRemainsAnywhere(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    assertFalse(m.text().contains("PAIR_ASSEMBLER_"), variant + " renders a PAIR_ASSEMBLER_ name");
    assertFalse(
        m.configMap(Chart.PREFIX + "pair-assembler").getData().keySet().stream()
            .anyMatch(k -> !k.equals("application.yml")),
        variant + ": its ConfigMap holds only application.yml");
  }

  @Test
  void theTopicJobHasNoPairAssemblerVariableEither() {
    assertFalse(Chart.renderWithHooksAsResources(List.of()).text().contains("PAIR_ASSEMBLER_"));
  }

  private static String checksum(Manifests m) {
    return m.deployment("pair-assembler")
        .getSpec()
        .getTemplate()
        .getMetadata()
        .getAnnotations()
        .get("checksum/config");
  }
}
