package dev.flywheel.helm;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The parsed output of one render, with look-ups by kind and component. */
record Manifests(String text, List<HasMetadata> objects) {

  /** Component name (app.kubernetes.io/component) -> values key: every component of the chart. */
  static final Map<String, String> COMPONENTS =
      Map.of(
          "feedback-gateway", "feedbackGateway",
          "pair-assembler", "pairAssembler",
          "reward-trainer", "rewardTrainer",
          "policy-trainer", "policyTrainer",
          "serving", "serving",
          "model-registry", "modelRegistry",
          "rollout-worker", "rolloutWorker");

  /** Components that are off by default ({@code enabled: false} in values.yaml). */
  static final Set<String> OPTIONAL = Set.of("rollout-worker");

  static final List<String> TRAINERS = List.of("reward-trainer", "policy-trainer");

  /** Components with PyTorch in the JVM (DJL flags, OMP_WAIT_POLICY, the data volume). */
  static final List<String> DJL =
      List.of("reward-trainer", "policy-trainer", "serving", "rollout-worker");

  /**
   * Components configured by an application.yml, health and metrics on the management port: all of
   * them.
   */
  static final List<String> MICRONAUT =
      List.of(
          "feedback-gateway",
          "pair-assembler",
          "reward-trainer",
          "policy-trainer",
          "serving",
          "model-registry",
          "rollout-worker");

  static Manifests parse(String text) {
    return new Manifests(text, Chart.parseDocuments(text));
  }

  /** The components this render deploys (every one not {@link #OPTIONAL}, and those enabled). */
  List<String> components() {
    return COMPONENTS.keySet().stream()
        .sorted()
        .filter(c -> find(Deployment.class, Chart.PREFIX + c).isPresent())
        .toList();
  }

  /** The {@link #MICRONAUT} components this render deploys. */
  List<String> micronaut() {
    return MICRONAUT.stream().filter(components()::contains).toList();
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
    return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
  }

  <T extends HasMetadata> T get(Class<T> type, String name) {
    return find(type, name)
        .orElseThrow(
            () ->
                new AssertionError(
                    "no "
                        + type.getSimpleName()
                        + " "
                        + name
                        + " in "
                        + objects.stream()
                            .map(o -> o.getKind() + "/" + o.getMetadata().getName())
                            .toList()));
  }

  Deployment deployment(String component) {
    return get(Deployment.class, Chart.PREFIX + component);
  }

  Service service(String component) {
    return get(Service.class, Chart.PREFIX + component);
  }

  ConfigMap configMap(String name) {
    return get(ConfigMap.class, name);
  }

  List<Secret> secrets() {
    return all(Secret.class);
  }

  List<PersistentVolumeClaim> claims() {
    return all(PersistentVolumeClaim.class);
  }

  List<HorizontalPodAutoscaler> autoscalers() {
    return all(HorizontalPodAutoscaler.class);
  }

  Job job(String name) {
    return get(Job.class, name);
  }

  static PodSpec pod(Deployment d) {
    return d.getSpec().getTemplate().getSpec();
  }

  static Container container(Deployment d) {
    List<Container> containers = pod(d).getContainers();
    if (containers.size() != 1) {
      throw new AssertionError(
          d.getMetadata().getName() + " has " + containers.size() + " containers");
    }
    return containers.get(0);
  }

  static Optional<EnvVar> env(Container c, String name) {
    return c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst();
  }

  static Optional<Volume> volume(PodSpec pod, String name) {
    return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst();
  }

  /** The application.yml of a Micronaut component, parsed. */
  Map<String, Object> applicationYaml(String component) {
    String text = configMap(Chart.PREFIX + component).getData().get("application.yml");
    if (text == null) {
      throw new AssertionError(component + " has no application.yml");
    }
    return Chart.yaml(text);
  }

  /** flywheel.kafka.properties of a Micronaut component. */
  @SuppressWarnings("unchecked")
  Map<String, Object> kafkaProperties(String component) {
    Map<String, Object> flywheel = (Map<String, Object>) applicationYaml(component).get("flywheel");
    Map<String, Object> kafka = (Map<String, Object>) flywheel.get("kafka");
    return (Map<String, Object>) kafka.get("properties");
  }

  /**
   * Value at a dotted path of nested maps ("flywheel.kafka.bootstrap-servers"); keys hold no dots.
   */
  @SuppressWarnings("unchecked")
  static Object at(Map<String, Object> map, String... path) {
    Object current = map;
    for (String key : path) {
      if (!(current instanceof Map<?, ?> m)) {
        return null;
      }
      current = ((Map<String, Object>) m).get(key);
    }
    return current;
  }
}
