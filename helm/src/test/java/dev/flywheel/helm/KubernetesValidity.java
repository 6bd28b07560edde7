package dev.flywheel.helm;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks that parsed manifests are valid Kubernetes objects beyond "Jackson could read them": no
 * field the model does not know (a misspelt or misplaced key, or a value of the wrong type, lands
 * in a model's additionalProperties), names and labels the API server accepts, every referenced
 * volume, port, ConfigMap and claim present, selectors matching their pods, quantities that parse.
 */
final class KubernetesValidity {

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern LABEL_VALUE =
      Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  private static final Pattern LABEL_NAME =
      Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  private static final Pattern ENV_NAME = Pattern.compile("[-._a-zA-Z][-._a-zA-Z0-9]*");
  private static final Pattern CONFIG_KEY = Pattern.compile("[-._a-zA-Z0-9]+");

  /** Kinds whose model class is not in kubernetes-client-api (CRDs): parsed generically. */
  private static final Set<String> CUSTOM_KINDS = Set.of("ServiceMonitor");

  private KubernetesValidity() {}

  /** Every problem found; empty when the manifests are valid. */
  static List<String> problems(Manifests manifests) {
    List<String> problems = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (HasMetadata o : manifests.objects()) {
      String id = o.getKind() + "/" + (o.getMetadata() == null ? null : o.getMetadata().getName());
      if (!seen.add(id)) {
        problems.add(id + ": rendered twice");
      }
      checkObject(o, id, problems);
    }
    for (Deployment d : manifests.all(Deployment.class)) {
      String id = "Deployment/" + d.getMetadata().getName();
      Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
      if (!podLabels
          .entrySet()
          .containsAll(d.getSpec().getSelector().getMatchLabels().entrySet())) {
        problems.add(
            id
                + ": selector "
                + d.getSpec().getSelector().getMatchLabels()
                + " does not match its pod labels");
      }
      checkPod(d.getSpec().getTemplate().getSpec(), id, manifests, problems);
    }
    for (Job j : manifests.all(Job.class)) {
      checkPod(
          j.getSpec().getTemplate().getSpec(),
          "Job/" + j.getMetadata().getName(),
          manifests,
          problems);
    }
    for (Service s : manifests.all(Service.class)) {
      checkService(s, manifests, problems);
    }
    for (PodDisruptionBudget b : manifests.all(PodDisruptionBudget.class)) {
      String id = "PodDisruptionBudget/" + b.getMetadata().getName();
      long matching =
          manifests.all(Deployment.class).stream()
              .filter(d -> matches(b.getSpec().getSelector(), d))
              .count();
      if (matching != 1) {
        problems.add(id + ": selector matches " + matching + " Deployments, expected 1");
      }
      if ((b.getSpec().getMaxUnavailable() == null) == (b.getSpec().getMinAvailable() == null)) {
        problems.add(id + ": exactly one of maxUnavailable and minAvailable must be set");
      }
    }
    for (NetworkPolicy p : manifests.all(NetworkPolicy.class)) {
      checkNetworkPolicy(p, manifests, problems);
    }
    for (HorizontalPodAutoscaler h : manifests.all(HorizontalPodAutoscaler.class)) {
      String target = h.getSpec().getScaleTargetRef().getName();
      if (manifests.find(Deployment.class, target).isEmpty()) {
        problems.add(
            "HorizontalPodAutoscaler/" + h.getMetadata().getName() + ": no Deployment " + target);
      }
      if (h.getSpec().getMinReplicas() > h.getSpec().getMaxReplicas()) {
        problems.add(
            "HorizontalPodAutoscaler/" + h.getMetadata().getName() + ": minReplicas > maxReplicas");
      }
    }
    return problems;
  }

  private static void checkObject(HasMetadata o, String id, List<String> problems) {
    if (o.getApiVersion() == null || o.getKind() == null) {
      problems.add(id + ": apiVersion/kind missing");
      return;
    }
    if (o instanceof GenericKubernetesResource && !CUSTOM_KINDS.contains(o.getKind())) {
      problems.add(
          id + ": " + o.getApiVersion() + " " + o.getKind() + " is not a known Kubernetes kind");
    }
    String name = o.getMetadata().getName();
    int max = o instanceof Service ? 63 : 253;
    Pattern pattern = o instanceof Service ? DNS_LABEL : DNS_SUBDOMAIN;
    if (name == null || name.length() > max || !pattern.matcher(name).matches()) {
      problems.add(id + ": invalid name (DNS-1123, at most " + max + " characters)");
    }
    checkLabels(o.getMetadata().getLabels(), id + " labels", problems);
    if (!(o instanceof GenericKubernetesResource)) {
      unknownFields(o, id, problems, new IdentityHashMap<>());
    }
    if (o instanceof ConfigMap cm && cm.getData() != null) {
      cm.getData().keySet().stream()
          .filter(k -> !CONFIG_KEY.matcher(k).matches())
          .forEach(k -> problems.add(id + ": invalid data key " + k));
    }
    if (o instanceof Secret s) {
      if (s.getStringData() != null) {
        s.getStringData().keySet().stream()
            .filter(k -> !CONFIG_KEY.matcher(k).matches())
            .forEach(k -> problems.add(id + ": invalid data key " + k));
      }
    }
    if (o instanceof PersistentVolumeClaim pvc) {
      quantity(
          pvc.getSpec().getResources().getRequests().get("storage"), id + " storage", problems);
    }
  }

  private static void checkLabels(Map<String, String> labels, String where, List<String> problems) {
    if (labels == null) {
      return;
    }
    labels.forEach(
        (k, v) -> {
          String name = k.contains("/") ? k.substring(k.indexOf('/') + 1) : k;
          if (name.length() > 63 || !LABEL_NAME.matcher(name).matches()) {
            problems.add(where + ": invalid label key " + k);
          }
          if (v == null || v.length() > 63 || !LABEL_VALUE.matcher(v).matches()) {
            problems.add(where + ": invalid value of label " + k + ": " + v);
          }
        });
  }

  private static void checkPod(PodSpec pod, String id, Manifests manifests, List<String> problems) {
    Set<String> volumes = new HashSet<>();
    for (Volume v : pod.getVolumes()) {
      if (!volumes.add(v.getName()) || !DNS_LABEL.matcher(v.getName()).matches()) {
        problems.add(id + ": volume name " + v.getName() + " duplicated or invalid");
      }
      if (v.getConfigMap() != null) {
        requireRendered(manifests, ConfigMap.class, v.getConfigMap().getName(), id, problems);
      }
      if (v.getPersistentVolumeClaim() != null) {
        requireRendered(
            manifests,
            PersistentVolumeClaim.class,
            v.getPersistentVolumeClaim().getClaimName(),
            id,
            problems);
      }
      if (v.getSecret() != null) {
        requireRendered(manifests, Secret.class, v.getSecret().getSecretName(), id, problems);
      }
    }
    for (Container c : pod.getContainers()) {
      String cid = id + " container " + c.getName();
      if (!DNS_LABEL.matcher(c.getName()).matches()) {
        problems.add(cid + ": invalid container name");
      }
      if (c.getImage() == null || c.getImage().isBlank() || c.getImage().contains(" ")) {
        problems.add(cid + ": invalid image " + c.getImage());
      }
      Set<String> mountPaths = new HashSet<>();
      for (VolumeMount m : c.getVolumeMounts()) {
        if (!volumes.contains(m.getName())) {
          problems.add(cid + ": mounts undeclared volume " + m.getName());
        }
        if (!mountPaths.add(m.getMountPath()) || !m.getMountPath().startsWith("/")) {
          problems.add(cid + ": mount path " + m.getMountPath() + " duplicated or relative");
        }
      }
      Set<String> envNames = new HashSet<>();
      for (EnvVar e : c.getEnv()) {
        if (!ENV_NAME.matcher(e.getName()).matches() || !envNames.add(e.getName())) {
          problems.add(cid + ": env " + e.getName() + " invalid or duplicated");
        }
        if (e.getValue() == null && e.getValueFrom() == null) {
          problems.add(cid + ": env " + e.getName() + " has neither value nor valueFrom");
        }
        if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
          requireRendered(
              manifests, Secret.class, e.getValueFrom().getSecretKeyRef().getName(), cid, problems);
        }
      }
      for (EnvFromSource from : c.getEnvFrom()) {
        if (from.getConfigMapRef() != null) {
          requireRendered(
              manifests, ConfigMap.class, from.getConfigMapRef().getName(), cid, problems);
        }
      }
      Set<String> portNames = new HashSet<>();
      for (ContainerPort p : c.getPorts()) {
        if (p.getName() != null && (p.getName().length() > 15 || !portNames.add(p.getName()))) {
          problems.add(cid + ": port name " + p.getName() + " too long or duplicated");
        }
      }
      for (Probe probe :
          new Probe[] {c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe()}) {
        if (probe != null && probe.getHttpGet() != null) {
          HTTPGetAction get = probe.getHttpGet();
          if (get.getPort().getStrVal() != null && !portNames.contains(get.getPort().getStrVal())) {
            problems.add(cid + ": probe on undeclared port " + get.getPort().getStrVal());
          }
          if (get.getPath() == null || !get.getPath().startsWith("/")) {
            problems.add(cid + ": probe path " + get.getPath());
          }
        }
      }
      if (c.getResources() != null) {
        for (Map<String, Quantity> list :
            Arrays.asList(c.getResources().getRequests(), c.getResources().getLimits())) {
          if (list != null) {
            list.forEach((k, q) -> quantity(q, cid + " resources." + k, problems));
          }
        }
      }
    }
  }

  private static void checkService(Service s, Manifests manifests, List<String> problems) {
    String id = "Service/" + s.getMetadata().getName();
    Map<String, String> selector = s.getSpec().getSelector();
    List<Deployment> backends =
        manifests.all(Deployment.class).stream()
            .filter(
                d ->
                    d.getSpec()
                        .getTemplate()
                        .getMetadata()
                        .getLabels()
                        .entrySet()
                        .containsAll(selector.entrySet()))
            .toList();
    if (backends.size() != 1) {
      problems.add(
          id
              + ": selector "
              + selector
              + " matches "
              + backends.size()
              + " Deployments, expected 1");
      return;
    }
    for (ServicePort port : s.getSpec().getPorts()) {
      String target = port.getTargetPort().getStrVal();
      boolean declared =
          target == null
              || Manifests.pod(backends.get(0)).getContainers().stream()
                  .flatMap(c -> c.getPorts().stream())
                  .anyMatch(p -> target.equals(p.getName()));
      if (!declared) {
        problems.add(id + ": targetPort " + target + " is not a port of its pods");
      }
    }
  }

  private static void checkNetworkPolicy(
      NetworkPolicy p, Manifests manifests, List<String> problems) {
    String id = "NetworkPolicy/" + p.getMetadata().getName();
    List<Deployment> selected =
        manifests.all(Deployment.class).stream()
            .filter(d -> matches(p.getSpec().getPodSelector(), d))
            .toList();
    if (selected.size() != 1) {
      problems.add(id + ": podSelector matches " + selected.size() + " Deployments, expected 1");
      return;
    }
    Set<String> portNames = new HashSet<>();
    Manifests.pod(selected.get(0))
        .getContainers()
        .forEach(c -> c.getPorts().forEach(port -> portNames.add(port.getName())));
    for (NetworkPolicyIngressRule rule : p.getSpec().getIngress()) {
      for (NetworkPolicyPort port : rule.getPorts()) {
        String name = port.getPort().getStrVal();
        if (name != null && !portNames.contains(name)) {
          problems.add(id + ": admits port " + name + ", which its pods do not declare");
        }
      }
      for (NetworkPolicyPeer peer : rule.getFrom()) {
        if (peer.getPodSelector() == null
            && peer.getNamespaceSelector() == null
            && peer.getIpBlock() == null) {
          problems.add(id + ": empty peer");
        }
      }
    }
  }

  /**
   * Whether a label selector (matchLabels only, as the chart writes them) selects the Deployment's
   * pods.
   */
  static boolean matches(LabelSelector selector, Deployment d) {
    if (selector.getMatchExpressions() != null && !selector.getMatchExpressions().isEmpty()) {
      throw new AssertionError("matchExpressions are not checked here");
    }
    return d.getSpec()
        .getTemplate()
        .getMetadata()
        .getLabels()
        .entrySet()
        .containsAll(selector.getMatchLabels().entrySet());
  }

  /**
   * Names the chart renders itself (prefix "fw-flywheel-") must be rendered; other names are
   * existing objects the values point at.
   */
  private static <T extends HasMetadata> void requireRendered(
      Manifests manifests, Class<T> type, String name, String where, List<String> problems) {
    if (name == null || name.isBlank()) {
      problems.add(where + ": empty " + type.getSimpleName() + " reference");
    } else if (name.startsWith(Chart.PREFIX) && manifests.find(type, name).isEmpty()) {
      problems.add(
          where
              + ": refers to "
              + type.getSimpleName()
              + " "
              + name
              + ", which the chart did not render");
    }
  }

  private static void quantity(Quantity q, String where, List<String> problems) {
    try {
      Objects.requireNonNull(q, "missing");
      Quantity.getAmountInBytes(q);
    } catch (RuntimeException e) {
      problems.add(where + ": bad quantity " + q + " (" + e.getMessage() + ")");
    }
  }

  /**
   * Walks the model tree; any non-empty additionalProperties is a field the model does not know.
   */
  private static void unknownFields(
      Object node, String path, List<String> problems, Map<Object, Boolean> visited) {
    if (node == null || visited.put(node, Boolean.TRUE) != null) {
      return;
    }
    if (node instanceof Map<?, ?> map) {
      map.forEach((k, v) -> unknownFields(v, path + "." + k, problems, visited));
      return;
    }
    if (node instanceof Collection<?> items) {
      int i = 0;
      for (Object item : items) {
        unknownFields(item, path + "[" + i++ + "]", problems, visited);
      }
      return;
    }
    if (!node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
      return;
    }
    for (Class<?> type = node.getClass();
        type != null && type != Object.class;
        type = type.getSuperclass()) {
      for (Field field : type.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers())) {
          continue;
        }
        field.setAccessible(true);
        Object value;
        try {
          value = field.get(node);
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
        if (field.getName().equals("additionalProperties")) {
          if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
            problems.add(
                path
                    + " ("
                    + node.getClass().getSimpleName()
                    + "): unknown or mistyped fields "
                    + extra.keySet());
          }
        } else {
          unknownFields(value, path + "." + field.getName(), problems, visited);
        }
      }
    }
  }
}
