package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.COMPONENTS;
import static dev.flywheel.helm.Manifests.DJL;
import static dev.flywheel.helm.Manifests.OPTIONAL;
import static dev.flywheel.helm.Manifests.TRAINERS;
import static dev.flywheel.helm.Manifests.container;
import static dev.flywheel.helm.Manifests.env;
import static dev.flywheel.helm.Manifests.pod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Lint, render, parse, and the structure every value set must keep. */
class ChartRenderTest {

  private static final String VARIANTS = "dev.flywheel.helm.Variants#all";

  /**
   * Expected readiness/liveness/metrics paths per component (the services' READMEs and health
   * indicators).
   */
  private static final Map<String, List<String>> HEALTH =
      Map.of(
          "feedback-gateway", List.of("/health/readiness", "/health/liveness", "/prometheus"),
          // the Streams client's indicators: kafka-streams (readiness), kafka-streams-alive
          // (liveness)
          "pair-assembler", List.of("/health/readiness", "/health/liveness", "/prometheus"),
          // the trainers' own indicator (DOWN once the loop failed) is only in /health: liveness
          // restarts them
          "reward-trainer", List.of("/health/readiness", "/health", "/prometheus"),
          "policy-trainer", List.of("/health/readiness", "/health", "/prometheus"),
          "serving", List.of("/health/readiness", "/health/liveness", "/prometheus"),
          "model-registry", List.of("/health/readiness", "/health/liveness", "/prometheus"),
          // its own rollout-worker indicator (DOWN between a loop failure and its restart) is only
          // in /health
          "rollout-worker", List.of("/health/readiness", "/health", "/prometheus"));

  @Test
  void lintStrictHasNoErrorsOrWarnings() {
    LintResult result = new Helm(Chart.DIR).lint().strict().call();
    assertFalse(result.isFailed(), () -> "helm lint --strict failed: " + result.getMessages());
    List<String> bad =
        result.getMessages().stream()
            .filter(m -> m.startsWith("[ERROR]") || m.startsWith("[WARNING]"))
            .toList();
    assertTrue(bad.isEmpty(), () -> "lint: " + bad);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void rendersValidKubernetesObjects(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    assertFalse(m.objects().isEmpty(), "nothing rendered");
    List<String> problems = KubernetesValidity.problems(m);
    assertTrue(problems.isEmpty(), () -> variant + ":\n  " + String.join("\n  ", problems));
    for (HasMetadata o : m.objects()) {
      assertEquals(
          "Helm", o.getMetadata().getLabels().get("app.kubernetes.io/managed-by"), o.getKind());
      assertEquals(
          Chart.RELEASE,
          o.getMetadata().getLabels().get("app.kubernetes.io/instance"),
          o.getKind());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void everyComponentHasADeploymentAndAService(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    Set<String> deployments =
        m.all(Deployment.class).stream()
            .map(d -> d.getMetadata().getName())
            .collect(Collectors.toCollection(TreeSet::new));
    Set<String> required =
        COMPONENTS.keySet().stream()
            .filter(c -> !OPTIONAL.contains(c))
            .map(c -> Chart.PREFIX + c)
            .collect(Collectors.toCollection(TreeSet::new));
    Set<String> known =
        COMPONENTS.keySet().stream()
            .map(c -> Chart.PREFIX + c)
            .collect(Collectors.toCollection(TreeSet::new));
    assertTrue(deployments.containsAll(required), () -> "missing: " + required + " " + deployments);
    assertTrue(known.containsAll(deployments), () -> "unknown: " + deployments);
    for (String component : m.components()) {
      Deployment d = m.deployment(component);
      Service s = m.service(component);
      assertEquals(
          component,
          d.getSpec().getTemplate().getMetadata().getLabels().get("app.kubernetes.io/component"));
      assertEquals(component, s.getSpec().getSelector().get("app.kubernetes.io/component"));
      assertEquals(
          List.of("http"),
          s.getSpec().getPorts().stream().map(p -> p.getTargetPort().getStrVal()).toList(),
          component + ": the public Service exposes only http");
      assertEquals(8080, container(d).getPorts().get(0).getContainerPort(), component);
      assertEquals("http", container(d).getPorts().get(0).getName(), component);
      assertEquals(List.of("java", "-jar", "/app/app.jar"), container(d).getCommand(), component);
      assertTrue(
          container(d).getImage().endsWith("/flywheel-" + component + ":0.1.0"),
          container(d).getImage());
      assertFalse(pod(d).getAutomountServiceAccountToken(), component);
      assertEquals(
          Chart.PREFIX.substring(0, Chart.PREFIX.length() - 1), pod(d).getServiceAccountName());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void probesPointAtTheHealthEndpointsOnTheManagementPort(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    for (String component : m.components()) {
      Container c = container(m.deployment(component));
      List<String> paths = HEALTH.get(component);
      String port = "management";
      assertProbe(c.getReadinessProbe(), paths.get(0), port, component + " readiness");
      assertProbe(c.getLivenessProbe(), paths.get(1), port, component + " liveness");
      assertProbe(c.getStartupProbe(), paths.get(1), port, component + " startup");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void podsCarryPrometheusScrapeAnnotations(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    for (String component : m.components()) {
      Map<String, String> annotations =
          m.deployment(component).getSpec().getTemplate().getMetadata().getAnnotations();
      assertEquals("true", annotations.get("prometheus.io/scrape"), component);
      assertEquals("8081", annotations.get("prometheus.io/port"), component);
      assertEquals(HEALTH.get(component).get(2), annotations.get("prometheus.io/path"), component);
      assertTrue(annotations.get("checksum/config").matches("[0-9a-f]{64}"), component);
    }
  }

  @Test
  void scrapeAnnotationsCanBeTurnedOff() {
    Manifests m = Chart.render("metrics.enabled=false");
    for (String component : m.components()) {
      Map<String, String> annotations =
          m.deployment(component).getSpec().getTemplate().getMetadata().getAnnotations();
      assertFalse(annotations.containsKey("prometheus.io/scrape"), component);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void everyContainerHasRequestsAndLimitsAndAHardenedContext(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    for (String component : m.components()) {
      Container c = container(m.deployment(component));
      for (String resource : List.of("cpu", "memory")) {
        assertNotNull(
            c.getResources().getRequests().get(resource), component + " requests." + resource);
        assertNotNull(
            c.getResources().getLimits().get(resource), component + " limits." + resource);
      }
      long heap = heapBytes(env(c, "JAVA_TOOL_OPTIONS").orElseThrow().getValue());
      long limit =
          Quantity.getAmountInBytes(c.getResources().getLimits().get("memory")).longValue();
      assertTrue(
          limit >= 2 * heap,
          component + ": memory limit " + limit + " leaves too little beside heap " + heap);
      assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem(), component);
      assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation(), component);
      assertTrue(pod(m.deployment(component)).getSecurityContext().getRunAsNonRoot(), component);
      assertTrue(
          c.getVolumeMounts().stream().anyMatch(v -> v.getMountPath().equals("/tmp")),
          component + " /tmp");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void jvmAndDjlSettings(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    Map<String, String> heaps =
        Map.of(
            "feedback-gateway",
            "-Xmx256m",
            "pair-assembler",
            "-Xmx256m",
            "reward-trainer",
            "-Xmx768m",
            "policy-trainer",
            "-Xmx768m",
            "serving",
            "-Xmx512m",
            "model-registry",
            "-Xmx256m",
            "rollout-worker",
            "-Xmx384m");
    for (String component : m.components()) {
      Container c = container(m.deployment(component));
      String opts = env(c, "JAVA_TOOL_OPTIONS").orElseThrow().getValue();
      assertTrue(opts.startsWith(heaps.get(component)), component + ": " + opts);
      boolean djl = DJL.contains(component);
      assertEquals(djl, opts.contains("-Dai.djl.offline=true"), component + ": " + opts);
      if (djl) {
        int threads = component.equals("rollout-worker") ? 1 : 2;
        assertTrue(opts.contains("-Dai.djl.pytorch.num_threads=" + threads), opts);
        assertTrue(opts.contains("-Dai.djl.pytorch.num_interop_threads=1"), opts);
        assertEquals("PASSIVE", env(c, "OMP_WAIT_POLICY").orElseThrow().getValue(), component);
        assertTrue(
            env(c, "DJL_CACHE_DIR").orElseThrow().getValue().startsWith("/var/lib/flywheel/data/"),
            component);
        assertEquals(
            env(c, "DJL_CACHE_DIR").orElseThrow().getValue(),
            env(c, "ENGINE_CACHE_DIR").orElseThrow().getValue());
      } else {
        assertTrue(env(c, "OMP_WAIT_POLICY").isEmpty(), component);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void trainersAreSingleActiveInstancesRecreated(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    for (String trainer : TRAINERS) {
      Deployment d = m.deployment(trainer);
      assertEquals(1, d.getSpec().getReplicas(), trainer);
      assertEquals("Recreate", d.getSpec().getStrategy().getType(), trainer);
      assertNull(d.getSpec().getStrategy().getRollingUpdate(), trainer);
      assertTrue(
          m.autoscalers().stream()
              .noneMatch(
                  h ->
                      h.getSpec().getScaleTargetRef().getName().equals(d.getMetadata().getName())));
    }
  }

  @Test
  void scalableComponentsTakeReplicasOrAnAutoscaler() {
    Manifests plain =
        Chart.render(
            "feedbackGateway.replicas=4", "pairAssembler.replicas=6", "serving.replicas=3");
    assertEquals(4, plain.deployment("feedback-gateway").getSpec().getReplicas());
    assertEquals(6, plain.deployment("pair-assembler").getSpec().getReplicas());
    assertEquals(3, plain.deployment("serving").getSpec().getReplicas());
    assertTrue(plain.autoscalers().isEmpty());

    Manifests scaled =
        Chart.render(
            "feedbackGateway.autoscaling.enabled=true", "pairAssembler.autoscaling.enabled=true");
    assertNull(
        scaled.deployment("feedback-gateway").getSpec().getReplicas(), "the HPA owns replicas");
    assertNull(
        scaled.deployment("pair-assembler").getSpec().getReplicas(), "the HPA owns replicas");
    assertEquals(2, scaled.autoscalers().size());
    var pairs =
        scaled.get(
            io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler.class,
            Chart.PREFIX + "pair-assembler");
    assertEquals(
        6, pairs.getSpec().getMaxReplicas(), "bounded by the 6 input partitions by default");
  }

  /** Every ${ENV} placeholder of a Micronaut config must be an env var of the pod that reads it. */
  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void micronautPlaceholdersAreFilledByThePodsEnvironment(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    Pattern placeholder = Pattern.compile("\\$\\{([A-Z0-9_]+)}");
    for (String component : m.micronaut()) {
      String yaml = m.configMap(Chart.PREFIX + component).getData().get("application.yml");
      Container c = container(m.deployment(component));
      Matcher matcher = placeholder.matcher(yaml);
      while (matcher.find()) {
        String name = matcher.group(1);
        EnvVar e =
            env(c, name)
                .orElseThrow(
                    () ->
                        new AssertionError(
                            component + " reads ${" + name + "} but has no such env"));
        assertNotNull(
            e.getValueFrom().getSecretKeyRef(),
            component + " " + name + " must come from a Secret");
      }
      assertEquals(
          "/etc/flywheel/config/application.yml",
          env(c, "MICRONAUT_CONFIG_FILES").orElseThrow().getValue().split(",")[0],
          component);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(VARIANTS)
  void servicesPointAtTheSharedArtifactRoot(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    Map<String, String> sections =
        Map.of(
            "reward-trainer",
            "reward-trainer",
            "policy-trainer",
            "policy-trainer",
            "serving",
            "serving",
            "model-registry",
            "model-registry",
            "rollout-worker",
            "rollout-worker");
    sections.forEach(
        (component, section) -> {
          if (!m.components().contains(component)) {
            return; // an optional component this variant leaves off
          }
          Map<String, Object> yaml = m.applicationYaml(component);
          if (component.equals("serving")
              && Manifests.at(yaml, "flywheel", "serving", "artifact-registry") != null) {
            // downloads from the model registry instead (ServingArtifactRegistryChartTest)
            assertTrue(
                container(m.deployment(component)).getVolumeMounts().stream()
                    .noneMatch(v -> v.getName().equals("artifacts")));
            return;
          }
          assertEquals(
              "/var/lib/flywheel/artifacts",
              Manifests.at(yaml, "flywheel", section, "artifact-root"),
              component);
          var mount =
              container(m.deployment(component)).getVolumeMounts().stream()
                  .filter(v -> v.getName().equals("artifacts"))
                  .findFirst()
                  .orElseThrow();
          assertEquals("/var/lib/flywheel/artifacts", mount.getMountPath());
          assertEquals(
              !TRAINERS.contains(component), mount.getReadOnly(), component + " read-only");
        });
    assertEquals(
        "/var/lib/flywheel/checkpoints",
        Manifests.at(
            m.applicationYaml("reward-trainer"), "flywheel", "reward-trainer", "checkpoint-dir"));
    assertEquals(
        "/var/lib/flywheel/checkpoints",
        Manifests.at(
            m.applicationYaml("policy-trainer"), "flywheel", "policy-trainer", "state-dir"));
    for (String component : List.of("feedback-gateway", "pair-assembler")) {
      assertTrue(
          container(m.deployment(component)).getVolumeMounts().stream()
              .noneMatch(v -> v.getName().equals("artifacts")));
    }
  }

  @Test
  void componentConfigIsMergedOverTheChartsAndChecksummed() {
    Manifests base = Chart.render();
    Manifests changed =
        Chart.render(
            "serving.config.flywheel.serving.max-n=5",
            "pairAssembler.config.flywheel.pair-assembler.grace-period=5m");
    assertEquals(
        5,
        ((Number) Manifests.at(changed.applicationYaml("serving"), "flywheel", "serving", "max-n"))
            .intValue());
    assertEquals(
        "/var/lib/flywheel/artifacts",
        Manifests.at(changed.applicationYaml("serving"), "flywheel", "serving", "artifact-root"),
        "chart keys kept");
    Map<String, Object> pairs = changed.applicationYaml("pair-assembler");
    assertEquals("5m", Manifests.at(pairs, "flywheel", "pair-assembler", "grace-period"));
    assertEquals(
        "/var/lib/flywheel/state",
        Manifests.at(pairs, "flywheel", "pair-assembler", "state-dir"),
        "chart keys kept");
    for (String component : List.of("serving", "pair-assembler")) {
      assertFalse(
          checksum(base, component).equals(checksum(changed, component)),
          component + " must roll on config change");
    }
    assertEquals(
        checksum(base, "feedback-gateway"),
        checksum(changed, "feedback-gateway"),
        "others untouched");
  }

  @Test
  void disabledComponentsAreNotRendered() {
    Manifests m = Chart.render("serving.enabled=false", "modelRegistry.enabled=false");
    assertTrue(m.find(Deployment.class, Chart.PREFIX + "serving").isEmpty());
    assertTrue(m.find(Service.class, Chart.PREFIX + "model-registry").isEmpty());
    assertTrue(
        KubernetesValidity.problems(m).isEmpty(), () -> KubernetesValidity.problems(m).toString());
  }

  private static String checksum(Manifests m, String component) {
    return m.deployment(component)
        .getSpec()
        .getTemplate()
        .getMetadata()
        .getAnnotations()
        .get("checksum/config");
  }

  private static void assertProbe(Probe probe, String path, String port, String what) {
    assertNotNull(probe, what);
    assertNotNull(probe.getHttpGet(), what);
    assertEquals(path, probe.getHttpGet().getPath(), what);
    assertEquals(port, probe.getHttpGet().getPort().getStrVal(), what);
  }

  private static long heapBytes(String javaOpts) {
    Matcher m = Pattern.compile("-Xmx(\\d+)([mMgG])").matcher(javaOpts);
    assertTrue(m.find(), javaOpts);
    long n = Long.parseLong(m.group(1));
    return n * (m.group(2).equalsIgnoreCase("g") ? 1L << 30 : 1L << 20);
  }
}
