package dev.flywheel.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Ingress NetworkPolicies: only the gateway and serving take traffic from outside the release
 * (their http port); the registry's API takes the release's pods; management ports take only
 * networkPolicy.managementFrom; the http ports of the pair assembler and the trainers (no API) take
 * nothing.
 */
class NetworkPolicyTest {

  static final Set<String> PUBLIC = Set.of("feedback-gateway", "serving");

  /** Components whose http port serves no API. */
  static final Set<String> NO_API =
      Set.of("pair-assembler", "reward-trainer", "policy-trainer", "rollout-worker");

  /** The rules of a component's policy that admit {@code port}. */
  static List<NetworkPolicyIngressRule> rulesFor(NetworkPolicy policy, String port) {
    return policy.getSpec().getIngress().stream()
        .filter(r -> r.getPorts().stream().anyMatch(p -> port.equals(p.getPort().getStrVal())))
        .toList();
  }

  /** A rule with no {@code from} admits any source, outside the cluster included. */
  static boolean open(NetworkPolicyIngressRule rule) {
    return rule.getFrom() == null || rule.getFrom().isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void onlyTheGatewayAndServingTakeOutsideTraffic(String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    assertEquals(m.components().size(), m.all(NetworkPolicy.class).size(), variant);
    for (String component : m.components()) {
      NetworkPolicy policy = m.get(NetworkPolicy.class, Chart.PREFIX + component);
      assertEquals(List.of("Ingress"), policy.getSpec().getPolicyTypes(), component);
      assertEquals(
          component,
          policy.getSpec().getPodSelector().getMatchLabels().get("app.kubernetes.io/component"));
      for (NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
        assertTrue(
            rule.getPorts() != null && !rule.getPorts().isEmpty(),
            component + ": a rule for every port");
      }
      List<NetworkPolicyIngressRule> http = rulesFor(policy, "http");
      if (PUBLIC.contains(component)) {
        assertEquals(1, http.size(), component);
      } else if (component.equals("model-registry")) {
        assertEquals(1, http.size(), component);
        NetworkPolicyPeer release = http.get(0).getFrom().get(0);
        assertEquals(
            Map.of(
                "app.kubernetes.io/name", "flywheel", "app.kubernetes.io/instance", Chart.RELEASE),
            release.getPodSelector().getMatchLabels(),
            "the release's own pods (serving's downloads)");
        assertEquals(null, release.getNamespaceSelector(), "in the release's namespace only");
      } else {
        assertTrue(NO_API.contains(component), component);
        assertTrue(http.isEmpty(), component + ": nothing reaches an http port without an API");
      }
      if (!PUBLIC.contains(component)) {
        for (NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
          assertTrue(!open(rule), component + " admits the outside world: " + rule);
        }
      }
      // the management port takes managementFrom and nothing wider
      List<NetworkPolicyIngressRule> management = rulesFor(policy, "management");
      assertEquals(1, management.size(), component);
      assertTrue(management.stream().noneMatch(NetworkPolicyTest::open), component);
    }
  }

  @Test
  void managementPortsTakeOnlyTheConfiguredPeers() {
    Manifests m =
        Chart.render(
            "networkPolicy.managementFrom[0].namespaceSelector.matchLabels.team=monitoring");
    for (String component : m.components()) {
      NetworkPolicy policy = m.get(NetworkPolicy.class, Chart.PREFIX + component);
      List<NetworkPolicyIngressRule> rules =
          rulesFor(policy, "management").stream()
              .filter(
                  r ->
                      r.getFrom().stream()
                          .anyMatch(
                              p ->
                                  p.getNamespaceSelector() != null
                                      && Map.of("team", "monitoring")
                                          .equals(p.getNamespaceSelector().getMatchLabels())))
              .toList();
      assertEquals(1, rules.size(), component);
      assertEquals(1, rules.get(0).getFrom().size(), component);
    }
    // empty: no peer at all, only the kubelet (whose probes NetworkPolicies never block)
    Manifests none = Chart.render("networkPolicy.managementFrom=null");
    for (String component : none.micronaut()) {
      assertTrue(
          rulesFor(none.get(NetworkPolicy.class, Chart.PREFIX + component), "management").isEmpty(),
          component);
    }
    for (String component : NO_API) {
      if (!none.components().contains(component)) {
        continue;
      }
      assertTrue(
          none.get(NetworkPolicy.class, Chart.PREFIX + component).getSpec().getIngress().isEmpty(),
          component + " takes no traffic at all");
    }
  }

  @Test
  void publicAndRegistryPeersCanBeNarrowedAndPoliciesTurnedOff() {
    for (String component : PUBLIC) {
      List<NetworkPolicyIngressRule> http =
          rulesFor(Chart.render().get(NetworkPolicy.class, Chart.PREFIX + component), "http");
      assertTrue(open(http.get(0)), component + ": by default anyone may call the public API");
    }
    Manifests m =
        Chart.render(
            "networkPolicy.publicFrom[0].namespaceSelector.matchLabels.team=ingress",
            "networkPolicy.registryFrom[0].podSelector.matchLabels.app=ops-console");
    for (String component : PUBLIC) {
      NetworkPolicyIngressRule http =
          rulesFor(m.get(NetworkPolicy.class, Chart.PREFIX + component), "http").get(0);
      assertEquals(
          Map.of("team", "ingress"), http.getFrom().get(0).getNamespaceSelector().getMatchLabels());
    }
    NetworkPolicyIngressRule registry =
        rulesFor(m.get(NetworkPolicy.class, Chart.PREFIX + "model-registry"), "http").get(0);
    Set<Map<String, String>> peers =
        registry.getFrom().stream()
            .map(p -> p.getPodSelector().getMatchLabels())
            .collect(Collectors.toSet());
    assertTrue(peers.contains(Map.of("app", "ops-console")), peers.toString());
    assertEquals(2, peers.size(), peers.toString());

    assertTrue(Chart.render("networkPolicy.enabled=false").all(NetworkPolicy.class).isEmpty());
  }
}
