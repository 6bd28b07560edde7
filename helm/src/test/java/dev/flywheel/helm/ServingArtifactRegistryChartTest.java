package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.container;
import static dev.flywheel.helm.Manifests.env;
import static dev.flywheel.helm.Manifests.pod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * serving.artifactRegistry: serving downloads artifacts from the model registry's Service with an
 * API key from an existing Secret (flywheel.serving.artifact-registry.*), mounts no artifact
 * volume, keeps its downloads on the data volume, and the registry's NetworkPolicy admits it.
 */
class ServingArtifactRegistryChartTest {

  static final String[] ENABLED = {
    "serving.artifactRegistry.enabled=true",
    "serving.artifactRegistry.existingSecret=serving-artifact-key"
  };

  @Test
  void servingFetchesFromTheRegistryServiceWithTheKeyFromItsSecret() {
    Manifests m = Chart.render(ENABLED);
    Map<String, Object> yaml = m.applicationYaml("serving");
    assertEquals(
        "http://fw-flywheel-model-registry:8080",
        Manifests.at(yaml, "flywheel", "serving", "artifact-registry", "url"),
        "the registry's public Service");
    assertEquals(
        "${FLYWHEEL_ARTIFACT_REGISTRY_API_KEY}",
        Manifests.at(yaml, "flywheel", "serving", "artifact-registry", "api-key"),
        "the key only by reference");
    assertEquals(
        "/var/lib/flywheel/data/artifact-cache",
        Manifests.at(yaml, "flywheel", "serving", "artifact-registry", "cache-dir"));
    assertNull(
        Manifests.at(yaml, "flywheel", "serving", "artifact-root"), "the file system is not read");

    SecretKeySelector key =
        env(container(m.deployment("serving")), "FLYWHEEL_ARTIFACT_REGISTRY_API_KEY")
            .orElseThrow()
            .getValueFrom()
            .getSecretKeyRef();
    assertEquals("serving-artifact-key", key.getName());
    assertEquals("api-key", key.getKey());
    assertTrue(
        Manifests.volume(pod(m.deployment("serving")), "artifacts").isEmpty(),
        "no artifact volume");
    assertTrue(m.text().lines().noneMatch(l -> l.contains("fwk_")), "no key in the manifests");
    assertTrue(
        KubernetesValidity.problems(m).isEmpty(), () -> KubernetesValidity.problems(m).toString());

    // the registry still reads the volume, and its NetworkPolicy admits serving's pods
    assertTrue(Manifests.volume(pod(m.deployment("model-registry")), "artifacts").isPresent());
    var from =
        NetworkPolicyTest.rulesFor(
                m.get(NetworkPolicy.class, Chart.PREFIX + "model-registry"), "http")
            .get(0)
            .getFrom()
            .get(0)
            .getPodSelector()
            .getMatchLabels();
    assertTrue(
        m.deployment("serving")
            .getSpec()
            .getTemplate()
            .getMetadata()
            .getLabels()
            .entrySet()
            .containsAll(from.entrySet()),
        "serving's pods are among the registry's allowed peers");
  }

  @Test
  void theUrlFollowsTheRegistrysServicePort() {
    Manifests m = Chart.render(ENABLED[0], ENABLED[1], "modelRegistry.service.port=9000");
    assertEquals(
        "http://fw-flywheel-model-registry:9000",
        Manifests.at(
            m.applicationYaml("serving"), "flywheel", "serving", "artifact-registry", "url"));
  }

  @Test
  void refusedWithoutAKeySecretOrWithoutTheRegistry() {
    IllegalStateException noSecret =
        assertThrows(
            IllegalStateException.class,
            () -> Chart.template(Chart.DIR, List.of(), "serving.artifactRegistry.enabled=true"));
    assertTrue(
        noSecret.getMessage().contains("serving.artifactRegistry.existingSecret"),
        noSecret.getMessage());
    IllegalStateException noRegistry =
        assertThrows(
            IllegalStateException.class,
            () ->
                Chart.template(
                    Chart.DIR, List.of(), ENABLED[0], ENABLED[1], "modelRegistry.enabled=false"));
    assertTrue(noRegistry.getMessage().contains("modelRegistry.enabled"), noRegistry.getMessage());
  }

  @Test
  void offByDefault() {
    Manifests m = Chart.render();
    assertNull(
        Manifests.at(m.applicationYaml("serving"), "flywheel", "serving", "artifact-registry"));
    assertTrue(
        env(container(m.deployment("serving")), "FLYWHEEL_ARTIFACT_REGISTRY_API_KEY").isEmpty());
    assertEquals(
        "/var/lib/flywheel/artifacts",
        Manifests.at(m.applicationYaml("serving"), "flywheel", "serving", "artifact-root"));
  }
}
