package dev.flywheel.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The chart under test ({@code helm/flywheel}) and its example values ({@code helm/examples}),
 * rendered with helm-java (helm's own engine, bundled natively) and parsed with the fabric8
 * Kubernetes model.
 */
final class Chart {

  static final Path MODULE =
      Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
  static final Path DIR = MODULE.resolve("flywheel");
  static final Path EXAMPLES = MODULE.resolve("examples");
  static final String RELEASE = "fw";
  static final String NAMESPACE = "flywheel";

  /** Resource name prefix for release "fw": "<release>-<chart>". */
  static final String PREFIX = "fw-flywheel-";

  static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");
  private static final Map<String, Manifests> CACHE = new ConcurrentHashMap<>();

  private Chart() {}

  static Path example(String name) {
    return EXAMPLES.resolve(name + ".yaml");
  }

  /** Renders the chart (helm template) with values files and then --set pairs ("a.b=c"). */
  static String template(Path chartDir, List<Path> valuesFiles, String... sets) {
    TemplateCommand command =
        new Helm(chartDir).template().withName(RELEASE).withNamespace(NAMESPACE);
    for (Path file : valuesFiles) {
      command = command.withValuesFile(file);
    }
    for (String set : sets) {
      int eq = set.indexOf('=');
      command = command.set(set.substring(0, eq), set.substring(eq + 1));
    }
    return command.call();
  }

  /** Renders and parses, cached per arguments (rendering is pure). */
  static Manifests render(List<Path> valuesFiles, String... sets) {
    String key = valuesFiles + " " + Arrays.toString(sets);
    return CACHE.computeIfAbsent(key, k -> Manifests.parse(template(DIR, valuesFiles, sets)));
  }

  static Manifests render(String... sets) {
    return render(List.of(), sets);
  }

  static Manifests renderExample(String example, String... sets) {
    return render(List.of(example(example)), sets);
  }

  /**
   * helm-java's template, like {@code helm install --dry-run}, leaves hook resources out. To check
   * the topic job, this renders a copy of the chart whose templates lost their {@code
   * helm.sh/hook*} annotations (and nothing else); {@link #hookAnnotations()} checks the originals
   * carry them.
   */
  static Manifests renderWithHooksAsResources(List<Path> valuesFiles, String... sets) {
    String key = "hooks " + valuesFiles + " " + Arrays.toString(sets);
    return CACHE.computeIfAbsent(
        key,
        k -> {
          try {
            Path copy = Files.createTempDirectory("flywheel-chart-");
            copyTree(DIR, copy);
            Path job = copy.resolve("templates/topics-job.yaml");
            String text =
                Files.readString(job).replaceAll("(?m)^\\s*helm\\.sh/hook[a-z-]*:.*\\R", "");
            Files.writeString(job, text);
            try {
              return Manifests.parse(template(copy, valuesFiles, sets));
            } finally {
              deleteTree(copy);
            }
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  /** The helm.sh/hook* annotation lines of the topic job template, as written. */
  static List<String> hookAnnotations() throws IOException {
    return Files.readAllLines(DIR.resolve("templates/topics-job.yaml")).stream()
        .map(String::trim)
        .filter(l -> l.startsWith("helm.sh/hook"))
        .toList();
  }

  /** Splits helm's multi-document output and parses every document into its fabric8 model class. */
  static List<HasMetadata> parseDocuments(String rendered) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : DOCUMENT_SEPARATOR.split(rendered)) {
      if (doc.lines().allMatch(l -> l.isBlank() || l.startsWith("#"))) {
        continue;
      }
      Object parsed = SERIALIZATION.unmarshal(doc, HasMetadata.class);
      if (!(parsed instanceof HasMetadata object)) {
        throw new AssertionError("not a Kubernetes object:\n" + doc);
      }
      objects.add(object);
    }
    return objects;
  }

  /** A YAML document (e.g. a ConfigMap's application.yml) as nested maps. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> yaml(String text) {
    Map<String, Object> map = SERIALIZATION.unmarshal(text, LinkedHashMap.class);
    return map == null ? Map.of() : map;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
