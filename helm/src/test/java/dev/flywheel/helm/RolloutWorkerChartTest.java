package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.container;
import static dev.flywheel.helm.Manifests.env;
import static dev.flywheel.helm.Manifests.pod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * rolloutWorker (#17 item 6): the rollout workers are a Deployment of their own, off by default,
 * scaled by replicas or an HPA and rolled (not recreated); they read the artifact volume, run
 * PyTorch with the DJL settings of the other torch components, and enabling them points the policy
 * trainer's RL rounds at them ({@code rollout.source: workers}) unless its config says otherwise.
 */
class RolloutWorkerChartTest {

  static final String[] ENABLED = {"rolloutWorker.enabled=true"};

  private static final String NAME = Chart.PREFIX + "rollout-worker";

  @TempDir static Path tmp;

  @Test
  void offByDefaultAndThePolicyTrainerSamplesItself() {
    Manifests m = Chart.render();
    assertTrue(m.find(Deployment.class, NAME).isEmpty(), "no rollout-worker Deployment");
    assertTrue(m.objects().stream().noneMatch(o -> o.getMetadata().getName().startsWith(NAME)));
    assertFalse(m.components().contains("rollout-worker"));
    assertNull(
        Manifests.at(m.applicationYaml("policy-trainer"), "flywheel", "policy-trainer", "rollout"),
        "the trainer's own sampling (its default) stays");
  }

  @Test
  void enabledItIsAReplicatedRollingDeployment() {
    Manifests m = Chart.render(ENABLED[0], "rolloutWorker.replicas=4");
    Deployment d = m.deployment("rollout-worker");
    assertEquals(4, d.getSpec().getReplicas());
    var strategy = d.getSpec().getStrategy();
    assertTrue(
        strategy == null || "RollingUpdate".equals(strategy.getType()),
        "not a trainer: rolled, not recreated: " + strategy);
    assertEquals(
        "rollout-worker",
        d.getSpec().getTemplate().getMetadata().getLabels().get("app.kubernetes.io/component"));
    Container c = container(d);
    assertEquals("registry.example.com/flywheel/flywheel-rollout-worker:0.1.0", c.getImage());
    assertEquals(2, Chart.render(ENABLED).deployment("rollout-worker").getSpec().getReplicas());

    // no checkpoints, no API keys
    assertTrue(Manifests.volume(pod(d), "checkpoints").isEmpty());
    assertTrue(Manifests.volume(pod(d), "auth").isEmpty());
    assertEquals(
        "/etc/flywheel/config/application.yml",
        env(c, "MICRONAUT_CONFIG_FILES").orElseThrow().getValue());
    assertTrue(
        m.claims().stream().noneMatch(p -> p.getMetadata().getName().contains("rollout-worker")));

    // health: its own indicator is in /health; metrics on the management port
    assertEquals("/health", c.getLivenessProbe().getHttpGet().getPath());
    assertEquals("/health", c.getStartupProbe().getHttpGet().getPath());
    assertEquals("/health/readiness", c.getReadinessProbe().getHttpGet().getPath());
    assertEquals("management", c.getLivenessProbe().getHttpGet().getPort().getStrVal());
    Map<String, String> annotations = d.getSpec().getTemplate().getMetadata().getAnnotations();
    assertEquals("/prometheus", annotations.get("prometheus.io/path"));
    assertEquals("8081", annotations.get("prometheus.io/port"));

    // a PodDisruptionBudget like the other replicated components; a policy admitting only
    // managementFrom to the management port (its http port serves no API)
    assertEquals(
        1,
        m.get(PodDisruptionBudget.class, NAME).getSpec().getMaxUnavailable().getIntVal(),
        "one worker at a time in a drain");
    NetworkPolicy policy = m.get(NetworkPolicy.class, NAME);
    assertTrue(NetworkPolicyTest.rulesFor(policy, "http").isEmpty());
    assertEquals(1, NetworkPolicyTest.rulesFor(policy, "management").size());
    assertTrue(m.find(Service.class, NAME + "-management").isPresent());
    assertTrue(
        KubernetesValidity.problems(m).isEmpty(), () -> KubernetesValidity.problems(m).toString());
  }

  @Test
  void readsTheArtifactVolumeReadOnlyAtItsArtifactRoot() {
    Manifests m = Chart.render(ENABLED);
    Deployment d = m.deployment("rollout-worker");
    VolumeMount artifacts =
        container(d).getVolumeMounts().stream()
            .filter(v -> v.getName().equals("artifacts"))
            .findFirst()
            .orElseThrow();
    assertEquals("/var/lib/flywheel/artifacts", artifacts.getMountPath());
    assertTrue(artifacts.getReadOnly(), "the workers only read the trainers' weights");
    assertEquals(
        Chart.PREFIX + "artifacts",
        Manifests.volume(pod(d), "artifacts")
            .orElseThrow()
            .getPersistentVolumeClaim()
            .getClaimName(),
        "the shared claim the trainers write");
    assertEquals(
        "/var/lib/flywheel/artifacts",
        Manifests.at(
            m.applicationYaml("rollout-worker"), "flywheel", "rollout-worker", "artifact-root"));

    Manifests moved = Chart.render(ENABLED[0], "artifacts.mountPath=/models");
    assertEquals(
        "/models",
        Manifests.at(
            moved.applicationYaml("rollout-worker"),
            "flywheel",
            "rollout-worker",
            "artifact-root"));
  }

  @Test
  void runsPyTorchWithTheDjlSettingsOfTheOtherTorchComponents() {
    Manifests m = Chart.render(ENABLED);
    Container c = container(m.deployment("rollout-worker"));
    String opts = env(c, "JAVA_TOOL_OPTIONS").orElseThrow().getValue();
    assertTrue(opts.startsWith("-Xmx384m -XX:+ExitOnOutOfMemoryError"), opts);
    assertTrue(opts.contains("-Dai.djl.offline=true"), opts);
    assertTrue(opts.contains("-Dai.djl.pytorch.num_threads=1"), opts);
    assertTrue(opts.contains("-Dai.djl.pytorch.num_interop_threads=1"), opts);
    assertEquals("PASSIVE", env(c, "OMP_WAIT_POLICY").orElseThrow().getValue());
    Container serving = container(m.deployment("serving"));
    for (String name : List.of("OMP_WAIT_POLICY", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR")) {
      assertEquals(
          env(serving, name).orElseThrow().getValue(),
          env(c, name).orElseThrow().getValue(),
          name + " as serving's");
    }
    assertTrue(
        c.getVolumeMounts().stream()
            .anyMatch(
                v -> v.getMountPath().equals("/var/lib/flywheel/data") && v.getReadOnly() == null),
        "DJL extracts its natives to the writable data volume");
    assertTrue(
        Chart.render(ENABLED[0], "rolloutWorker.torchThreads=3")
            .deployment("rollout-worker")
            .getSpec()
            .getTemplate()
            .getSpec()
            .getContainers()
            .get(0)
            .getEnv()
            .stream()
            .anyMatch(
                e ->
                    e.getName().equals("JAVA_TOOL_OPTIONS")
                        && e.getValue().contains("-Dai.djl.pytorch.num_threads=3")));
  }

  @Test
  void itsConfigIsItsOwnSectionMergedOverTheChartsAndChecksummed() {
    Manifests m =
        Chart.render(
            ENABLED[0],
            "rolloutWorker.config.flywheel.rollout-worker.cached-models=6",
            "rolloutWorker.config.flywheel.rollout-worker.group-id=fw-workers");
    Map<String, Object> yaml = m.applicationYaml("rollout-worker");
    assertEquals(
        6, ((Number) Manifests.at(yaml, "flywheel", "rollout-worker", "cached-models")).intValue());
    assertEquals("fw-workers", Manifests.at(yaml, "flywheel", "rollout-worker", "group-id"));
    assertEquals(
        "/var/lib/flywheel/artifacts",
        Manifests.at(yaml, "flywheel", "rollout-worker", "artifact-root"),
        "chart keys kept");
    assertEquals(
        "my-cluster-kafka-bootstrap:9092",
        Manifests.at(yaml, "flywheel", "kafka", "bootstrap-servers"));
    assertEquals(8081, ((Number) Manifests.at(yaml, "endpoints", "all", "port")).intValue());
    assertNotEquals(
        checksum(Chart.render(ENABLED), "rollout-worker"),
        checksum(m, "rollout-worker"),
        "a config change rolls the workers");
  }

  @Test
  void enablingThemPointsThePolicyTrainersRlRoundsAtThem() {
    Manifests m = Chart.render(ENABLED);
    Map<String, Object> trainer = m.applicationYaml("policy-trainer");
    assertEquals(
        "workers", Manifests.at(trainer, "flywheel", "policy-trainer", "rollout", "source"));
    assertEquals(
        "/var/lib/flywheel/artifacts",
        Manifests.at(trainer, "flywheel", "policy-trainer", "artifact-root"),
        "the other chart keys stay");
    assertNotEquals(
        checksum(Chart.render(), "policy-trainer"),
        checksum(m, "policy-trainer"),
        "the trainer rolls onto the workers");
    assertNull(
        Manifests.at(m.applicationYaml("reward-trainer"), "flywheel", "reward-trainer", "rollout"));

    // its staleness bound from policyTrainer.config goes next to the source
    Map<String, Object> stale =
        Chart.render(
                ENABLED[0], "policyTrainer.config.flywheel.policy-trainer.rollout.max-staleness=1")
            .applicationYaml("policy-trainer");
    assertEquals("workers", Manifests.at(stale, "flywheel", "policy-trainer", "rollout", "source"));
    assertEquals(
        1,
        ((Number) Manifests.at(stale, "flywheel", "policy-trainer", "rollout", "max-staleness"))
            .intValue());
  }

  @Test
  void aRolloutSourceInThePolicyTrainersConfigWins() {
    Map<String, Object> trainer =
        Chart.render(
                ENABLED[0], "policyTrainer.config.flywheel.policy-trainer.rollout.source=trainer")
            .applicationYaml("policy-trainer");
    assertEquals(
        "trainer", Manifests.at(trainer, "flywheel", "policy-trainer", "rollout", "source"));

    // and without the chart's workers (e.g. workers of another release) it is passed as given
    Map<String, Object> external =
        Chart.render("policyTrainer.config.flywheel.policy-trainer.rollout.source=workers")
            .applicationYaml("policy-trainer");
    assertEquals(
        "workers", Manifests.at(external, "flywheel", "policy-trainer", "rollout", "source"));
  }

  @Test
  void anHpaOwnsTheReplicasWhenAutoscalingIsOn() {
    Manifests m = Chart.render(ENABLED[0], "rolloutWorker.autoscaling.enabled=true");
    assertNull(m.deployment("rollout-worker").getSpec().getReplicas(), "the HPA owns replicas");
    HorizontalPodAutoscaler hpa = m.get(HorizontalPodAutoscaler.class, NAME);
    assertEquals("Deployment", hpa.getSpec().getScaleTargetRef().getKind());
    assertEquals(NAME, hpa.getSpec().getScaleTargetRef().getName());
    assertEquals(1, hpa.getSpec().getMinReplicas());
    assertEquals(6, hpa.getSpec().getMaxReplicas(), "the request topic's 6 partitions");
    assertEquals(1, hpa.getSpec().getMetrics().size());
    assertEquals("cpu", hpa.getSpec().getMetrics().get(0).getResource().getName());
    assertEquals(
        70, hpa.getSpec().getMetrics().get(0).getResource().getTarget().getAverageUtilization());
    assertEquals(1, m.autoscalers().size(), "the others keep their replicas");
    assertTrue(
        KubernetesValidity.problems(m).isEmpty(), () -> KubernetesValidity.problems(m).toString());

    assertTrue(
        Chart.render(ENABLED).find(HorizontalPodAutoscaler.class, NAME).isEmpty(),
        "off by default");
    assertTrue(
        Chart.render("rolloutWorker.autoscaling.enabled=true").autoscalers().isEmpty(),
        "nothing for a disabled component");
  }

  @Test
  void theHpaCanAlsoFollowTheConsumerLag() throws IOException {
    Path values =
        Files.writeString(
            Files.createTempFile(tmp, "lag-", ".yaml"),
            """
            rolloutWorker:
              enabled: true
              autoscaling:
                enabled: true
                extraMetrics:
                  - type: External
                    external:
                      metric:
                        name: kafka_consumergroup_lag
                        selector:
                          matchLabels:
                            consumergroup: rollout-workers
                            topic: training.rollout-requests
                      target:
                        type: AverageValue
                        averageValue: "2"
            """);
    Manifests m = Chart.render(List.of(values));
    List<MetricSpec> metrics = m.get(HorizontalPodAutoscaler.class, NAME).getSpec().getMetrics();
    assertEquals(
        List.of("Resource", "External"), metrics.stream().map(MetricSpec::getType).toList());
    assertEquals("kafka_consumergroup_lag", metrics.get(1).getExternal().getMetric().getName());
    assertEquals("2", metrics.get(1).getExternal().getTarget().getAverageValue().toString());
    assertTrue(
        KubernetesValidity.problems(m).isEmpty(), () -> KubernetesValidity.problems(m).toString());
  }

  @Test
  void theSchemaRefusesWhatAWorkerDoesNotHave() {
    for (String[] bad :
        List.of(
            new String[] {"rolloutWorker.replicas=-1", "rolloutWorker.replicas"},
            new String[] {"rolloutWorker.torchThreads=0", "rolloutWorker.torchThreads"},
            new String[] {"rolloutWorker.checkpoints.persistence.enabled=true", "rolloutWorker"},
            new String[] {"rolloutWorker.auth.existingSecret=keys", "rolloutWorker"},
            new String[] {"rolloutWorker.autoscaling.maxReplicas=0", "rolloutWorker.autoscaling"},
            new String[] {
              "rolloutWorker.autoscaling.extraMetrics[0].external.x=y", "extraMetrics"
            })) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () -> Chart.template(Chart.DIR, List.of(), bad[0]),
              () -> bad[0] + " was accepted");
      assertTrue(e.getMessage().contains("schema"), e.getMessage());
      assertTrue(e.getMessage().contains(bad[1]), () -> bad[1] + ": " + e.getMessage());
    }
  }

  @Test
  void notesListTheWorkersAndWarnWhenTheTrainerWaitsOnAbsentOnes() {
    String on = NotesTest.notes(ENABLED[0], "rolloutWorker.replicas=8");
    assertTrue(on.contains("svc/" + NAME + "  (replicas: 8)"), on);
    assertTrue(on.contains("rollout workers, but training.rollout-requests has 6 partitions"), on);
    assertFalse(on.contains("rollout.source=workers but rolloutWorker.enabled=false"), on);

    String off =
        NotesTest.notes("policyTrainer.config.flywheel.policy-trainer.rollout.source=workers");
    assertFalse(off.contains("svc/" + NAME), off);
    assertTrue(off.contains("WARNING: policyTrainer.config sets rollout.source=workers"), off);
    assertFalse(NotesTest.notes().contains("rollout.source=workers"));
  }

  private static String checksum(Manifests m, String component) {
    return m.deployment(component)
        .getSpec()
        .getTemplate()
        .getMetadata()
        .getAnnotations()
        .get("checksum/config");
  }
}
