package dev.flywheel.helm;

import static dev.flywheel.helm.Manifests.DJL;
import static dev.flywheel.helm.Manifests.TRAINERS;
import static dev.flywheel.helm.Manifests.container;
import static dev.flywheel.helm.Manifests.env;
import static dev.flywheel.helm.Manifests.pod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every container runs as non-root with a read-only root file system; what it may write is an
 * explicit volume — an emptyDir with a size limit (/tmp, /var/lib/flywheel/data, the pair
 * assembler's state) or a claim (artifacts for the trainers, checkpoints) — and every directory the
 * services are configured to write to lies on one. Every container, the topic job's included, has
 * cpu and memory requests and limits.
 */
class WritableVolumesTest {

  private static final String DATA = "/var/lib/flywheel/data";

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void rootIsReadOnlyAndEveryWritableMountIsAnExplicitVolume(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    for (String component : m.components()) {
      PodSpec pod = pod(m.deployment(component));
      Container c = container(m.deployment(component));
      assertTrue(pod.getSecurityContext().getRunAsNonRoot(), component);
      assertTrue(c.getSecurityContext().getRunAsNonRoot(), component);
      assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem(), component);
      assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation(), component);
      assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop(), component);

      for (VolumeMount mount : c.getVolumeMounts()) {
        Volume volume = Manifests.volume(pod, mount.getName()).orElseThrow();
        if (Boolean.TRUE.equals(mount.getReadOnly())) {
          continue;
        }
        assertTrue(
            volume.getConfigMap() == null
                && volume.getSecret() == null
                && volume.getProjected() == null,
            component + ": " + mount.getMountPath() + " (config/secret) must be mounted read-only");
        if (volume.getEmptyDir() != null) {
          assertNotNull(
              volume.getEmptyDir().getSizeLimit(),
              component + ": " + mount.getMountPath() + " has no sizeLimit");
          assertTrue(
              Quantity.getAmountInBytes(volume.getEmptyDir().getSizeLimit()).signum() > 0,
              component);
        } else {
          assertNotNull(
              volume.getPersistentVolumeClaim(),
              component
                  + ": "
                  + mount.getMountPath()
                  + " is writable but neither an emptyDir nor a claim");
        }
      }
      assertWritable(m, component, "/tmp");
      if (DJL.contains(component)) {
        assertWritable(m, component, DATA);
        for (String name : List.of("DJL_CACHE_DIR", "ENGINE_CACHE_DIR")) {
          assertWritable(m, component, env(c, name).orElseThrow().getValue());
        }
      }
    }
    for (String trainer : TRAINERS) {
      Map<String, Object> section =
          castMap(Manifests.at(m.applicationYaml(trainer), "flywheel", trainer));
      assertWritable(m, trainer, (String) section.get("artifact-root"));
      assertWritable(
          m,
          trainer,
          (String) section.get(trainer.equals("reward-trainer") ? "checkpoint-dir" : "state-dir"));
    }
    Object cache =
        Manifests.at(
            m.applicationYaml("serving"), "flywheel", "serving", "artifact-registry", "cache-dir");
    if (cache != null) {
      assertWritable(m, "serving", (String) cache);
    }
    assertWritable(
        m,
        "pair-assembler",
        (String)
            Manifests.at(
                m.applicationYaml("pair-assembler"), "flywheel", "pair-assembler", "state-dir"));
    for (String reader : List.of("serving", "model-registry", "rollout-worker")) {
      if (!m.components().contains(reader)) {
        continue;
      }
      container(m.deployment(reader)).getVolumeMounts().stream()
          .filter(v -> v.getName().equals("artifacts"))
          .forEach(v -> assertTrue(v.getReadOnly(), reader + " only reads the artifacts"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.flywheel.helm.Variants#all")
  void everyContainerAndTheTopicJobHaveCpuAndMemoryRequestsAndLimits(
      String variant, Supplier<Manifests> render) {
    Manifests m = render.get();
    List<Container> containers = new ArrayList<>();
    m.components().forEach(component -> containers.add(container(m.deployment(component))));
    for (Container c : containers) {
      for (String resource : List.of("cpu", "memory")) {
        Quantity request = c.getResources().getRequests().get(resource);
        Quantity limit = c.getResources().getLimits().get(resource);
        assertNotNull(request, c.getName() + " requests." + resource);
        assertNotNull(limit, c.getName() + " limits." + resource);
        assertTrue(
            Quantity.getAmountInBytes(request).compareTo(Quantity.getAmountInBytes(limit)) <= 0,
            c.getName() + ": " + resource + " request above its limit");
      }
    }
  }

  @org.junit.jupiter.api.Test
  void theTopicJobIsHardenedAndBoundedToo() {
    Job job = Chart.renderWithHooksAsResources(List.of()).job(Chart.PREFIX + "topics");
    Container c = job.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertTrue(job.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsNonRoot());
    assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem());
    for (String resource : List.of("cpu", "memory")) {
      assertNotNull(c.getResources().getRequests().get(resource), resource);
      assertNotNull(c.getResources().getLimits().get(resource), resource);
    }
  }

  /** {@code path} lies on a writable (not read-only) mount of the component's container. */
  private static void assertWritable(Manifests m, String component, String path) {
    assertNotNull(path, component + ": no path");
    Container c = container(m.deployment(component));
    boolean onWritableMount =
        c.getVolumeMounts().stream()
            .filter(v -> !Boolean.TRUE.equals(v.getReadOnly()))
            .anyMatch(
                v -> path.equals(v.getMountPath()) || path.startsWith(v.getMountPath() + "/"));
    assertTrue(
        onWritableMount,
        component + " writes " + path + " but no writable volume is mounted there");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Object o) {
    return (Map<String, Object>) o;
  }
}
