package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.TRAINERS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every replicated component (gateway, pair assembler, serving, model registry, rollout workers)
 * has a PodDisruptionBudget selecting exactly its own pods; the single-instance trainers have none
 * (a budget could only block drains).
 */
class PodDisruptionBudgetTest {

  /** The replicated components a render deploys. */
  static List<String> replicated(Manifests m) {
    return m.components().stream().filter(c -> !TRAINERS.contains(c)).toList();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void everyReplicatedComponentHasABudgetForExactlyItsPods(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    assertEquals(replicated(m).size(), m.all(PodDisruptionBudget.class).size(), variant);
    for (String component : replicated(m)) {
      PodDisruptionBudget pdb = m.get(PodDisruptionBudget.class, Chart.PREFIX + component);
      List<String> selected =
          m.all(Deployment.class).stream()
              .filter(d -> KubernetesValidity.matches(pdb.getSpec().getSelector(), d))
              .map(d -> d.getMetadata().getName())
              .toList();
      assertEquals(List.of(Chart.PREFIX + component), selected, component);
      assertTrue(pdb.getSpec().getMaxUnavailable() != null, component);
      assertEquals(null, pdb.getSpec().getMinAvailable(), component);
      assertEquals(component, pdb.getMetadata().getLabels().get("app.kubernetes.io/component"));
    }
    for (String trainer : TRAINERS) {
      assertTrue(m.find(PodDisruptionBudget.class, Chart.PREFIX + trainer).isEmpty(), trainer);
    }
  }

  @Test
  void oneUnavailablePodAtATimeByDefaultAndConfigurable() {
    for (String component : replicated(Chart.render(RolloutWorkerChartTest.ENABLED))) {
      assertEquals(
          1,
          Chart.render(RolloutWorkerChartTest.ENABLED)
              .get(PodDisruptionBudget.class, Chart.PREFIX + component)
              .getSpec()
              .getMaxUnavailable()
              .getIntVal(),
          component);
    }
    Manifests m =
        Chart.render(
            "serving.podDisruptionBudget.maxUnavailable=25%",
            "feedbackGateway.podDisruptionBudget.enabled=false");
    assertEquals(
        "25%",
        m.get(PodDisruptionBudget.class, Chart.PREFIX + "serving")
            .getSpec()
            .getMaxUnavailable()
            .getStrVal());
    assertTrue(m.find(PodDisruptionBudget.class, Chart.PREFIX + "feedback-gateway").isEmpty());
    assertTrue(
        Chart.render("serving.enabled=false")
            .find(PodDisruptionBudget.class, Chart.PREFIX + "serving")
            .isEmpty());
  }
}
