package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.container;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Service;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Management endpoints (health with its details, Prometheus) of every component (all Micronaut
 * applications) are on a port of their own: Micronaut's endpoints.all.port in the rendered config,
 * a "management" container port, probes and scraping there, a management Service of their own, and
 * nothing of it behind the public Service.
 */
class ManagementPortChartTest {

  static int port(Container c, String name) {
    return c.getPorts().stream()
        .filter(p -> name.equals(p.getName()))
        .map(ContainerPort::getContainerPort)
        .findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " has no port " + name));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void micronautComponentsServeManagementEndpointsOnTheManagementPortOnly(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    for (String component : m.micronaut()) {
      Map<String, Object> yaml = m.applicationYaml(component);
      assertEquals(
          8080, ((Number) Manifests.at(yaml, "micronaut", "server", "port")).intValue(), component);
      assertEquals(
          8081,
          ((Number) Manifests.at(yaml, "endpoints", "all", "port")).intValue(),
          component + ": endpoints.all.port moves /health and /prometheus off the public port");
      Container c = container(m.deployment(component));
      assertEquals(8080, port(c, "http"), component);
      assertEquals(8081, port(c, "management"), component);

      Service management = m.get(Service.class, Chart.PREFIX + component + "-management");
      assertEquals("ClusterIP", management.getSpec().getType(), component);
      assertEquals(1, management.getSpec().getPorts().size(), component);
      assertEquals(
          "management",
          management.getSpec().getPorts().get(0).getTargetPort().getStrVal(),
          component);
      assertEquals(8081, management.getSpec().getPorts().get(0).getPort(), component);
      assertEquals(
          "management", management.getMetadata().getLabels().get("flywheel.dev/port"), component);

      Service publicService = m.service(component);
      assertTrue(
          publicService.getSpec().getPorts().stream()
              .noneMatch(
                  p -> "management".equals(p.getTargetPort().getStrVal()) || p.getPort() == 8081),
          component + ": the public Service must not expose the management port");
      assertNull(publicService.getMetadata().getLabels().get("flywheel.dev/port"), component);
    }
  }

  /**
   * Its http port serves no API; health, probes, scraping and the policy's only peer rule are the
   * management port's.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void thePairAssemblersHealthAndMetricsAreOnTheManagementPortLikeTheOthers(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    Container c = container(m.deployment("pair-assembler"));
    assertEquals(
        List.of("http", "management"), c.getPorts().stream().map(ContainerPort::getName).toList());
    for (var probe : List.of(c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe())) {
      assertEquals("management", probe.getHttpGet().getPort().getStrVal());
    }
    assertEquals("/health/readiness", c.getReadinessProbe().getHttpGet().getPath());
    assertEquals("/health/liveness", c.getLivenessProbe().getHttpGet().getPath());
    Map<String, String> annotations =
        m.deployment("pair-assembler").getSpec().getTemplate().getMetadata().getAnnotations();
    assertEquals("8081", annotations.get("prometheus.io/port"));
    assertEquals("/prometheus", annotations.get("prometheus.io/path"));
    Service management = m.get(Service.class, Chart.PREFIX + "pair-assembler-management");
    assertEquals(
        List.of(8081), management.getSpec().getPorts().stream().map(p -> p.getPort()).toList());
    Map<String, Object> yaml = m.applicationYaml("pair-assembler");
    assertEquals(8081, ((Number) Manifests.at(yaml, "endpoints", "all", "port")).intValue());
    assertEquals(true, Manifests.at(yaml, "endpoints", "prometheus", "enabled"));

    var policy =
        m.get(
            io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class,
            Chart.PREFIX + "pair-assembler");
    assertTrue(
        NetworkPolicyTest.rulesFor(policy, "http").isEmpty(),
        variant + ": nothing reaches its http port");
    assertEquals(1, NetworkPolicyTest.rulesFor(policy, "management").size(), variant);
  }

  @Test
  void serviceMonitorsScrapeTheManagementServices() {
    Manifests m = Chart.render("metrics.serviceMonitor.enabled=true", "rolloutWorker.enabled=true");
    assertEquals(Manifests.COMPONENTS.keySet(), java.util.Set.copyOf(m.components()));
    for (String component : m.components()) {
      GenericKubernetesResource monitor =
          m.get(GenericKubernetesResource.class, Chart.PREFIX + component);
      @SuppressWarnings("unchecked")
      Map<String, Object> spec =
          (Map<String, Object>) monitor.getAdditionalProperties().get("spec");
      @SuppressWarnings("unchecked")
      Map<String, Object> endpoint = ((List<Map<String, Object>>) spec.get("endpoints")).get(0);
      @SuppressWarnings("unchecked")
      Map<String, String> selector =
          (Map<String, String>) Manifests.at(spec, "selector", "matchLabels");
      List<Service> selected =
          m.all(Service.class).stream()
              .filter(s -> s.getMetadata().getLabels().entrySet().containsAll(selector.entrySet()))
              .toList();
      assertEquals(1, selected.size(), component + " selects " + selected);
      String portName = (String) endpoint.get("port");
      assertTrue(
          selected.get(0).getSpec().getPorts().stream().anyMatch(p -> portName.equals(p.getName())),
          component + ": the selected Service has the scraped port " + portName);
      assertEquals("management", portName, component);
      assertEquals(
          Chart.PREFIX + component + "-management", selected.get(0).getMetadata().getName());
      assertEquals("/prometheus", endpoint.get("path"), component);
    }
  }

  @Test
  void theManagementPortIsConfigurable() {
    Manifests m = Chart.render("management.port=9464", "rolloutWorker.enabled=true");
    assertEquals(Manifests.MICRONAUT, m.micronaut());
    for (String component : m.micronaut()) {
      assertEquals(
          9464,
          ((Number) Manifests.at(m.applicationYaml(component), "endpoints", "all", "port"))
              .intValue());
      assertEquals(9464, port(container(m.deployment(component)), "management"), component);
      assertEquals(
          "9464",
          m.deployment(component)
              .getSpec()
              .getTemplate()
              .getMetadata()
              .getAnnotations()
              .get("prometheus.io/port"),
          component);
      assertEquals(
          9464,
          m.get(Service.class, Chart.PREFIX + component + "-management")
              .getSpec()
              .getPorts()
              .get(0)
              .getPort());
    }
    assertTrue(
        KubernetesValidity.problems(m).isEmpty(), () -> KubernetesValidity.problems(m).toString());
  }

  @Test
  void theGatewaysOpenApiDocumentIsOffThePublicPortUnlessAskedFor() {
    assertEquals(
        false,
        Manifests.at(
            Chart.render().applicationYaml("feedback-gateway"),
            "micronaut",
            "router",
            "static-resources",
            "openapi",
            "enabled"));
    assertEquals(
        true,
        Manifests.at(
            Chart.render("feedbackGateway.serveOpenApi=true").applicationYaml("feedback-gateway"),
            "micronaut",
            "router",
            "static-resources",
            "openapi",
            "enabled"));
    for (String component : List.of("serving", "model-registry", "reward-trainer")) {
      assertNull(
          Manifests.at(Chart.render().applicationYaml(component), "micronaut", "router"),
          component);
    }
  }

  @Test
  void componentConfigCannotBringTheManagementPortBackByAccident() {
    // a user's config merges over the chart's; the port stays unless set explicitly
    Manifests m = Chart.render("serving.config.endpoints.health.details-visible=NEVER");
    assertEquals(
        8081,
        ((Number) Manifests.at(m.applicationYaml("serving"), "endpoints", "all", "port"))
            .intValue());
    assertEquals(
        "NEVER",
        Manifests.at(m.applicationYaml("serving"), "endpoints", "health", "details-visible"));
  }
}
