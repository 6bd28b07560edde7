package dev.flywheel.serving;

import dev.flywheel.serving.versions.ArtifactFetcher;
import dev.flywheel.serving.versions.ArtifactFetchers;
import dev.flywheel.serving.versions.ArtifactRegistryConfig;
import dev.flywheel.serving.versions.FileArtifactFetcher;
import dev.flywheel.serving.versions.RegistryArtifactFetcher;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.json.JsonMapper;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

@Factory
class ServingBeans {

  /**
   * {@code file:} artifact URIs read from the (shared) file system, inside {@code
   * flywheel.serving.artifact-root} when it is set. Not when artifacts come from the model
   * registry.
   */
  @Singleton
  @Requires(missingProperty = ArtifactRegistryConfig.PREFIX + ".url")
  ArtifactFetcher fileArtifactFetcher(ServingConfig config) {
    String root = config.getArtifactRoot();
    try {
      return new FileArtifactFetcher(root == null || root.isBlank() ? null : Path.of(root));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "flywheel.serving.artifact-root " + root + " is not usable", e);
    }
  }

  /**
   * {@code file:} artifact URIs downloaded over HTTP from the model registry with an API key, when
   * {@code flywheel.serving.artifact-registry.url} is set (then the shared file system is not
   * read).
   */
  @Singleton
  @Requires(property = ArtifactRegistryConfig.PREFIX + ".url")
  ArtifactFetcher registryArtifactFetcher(ArtifactRegistryConfig config, JsonMapper json) {
    try {
      return new RegistryArtifactFetcher(config, json);
    } catch (IOException e) {
      throw new UncheckedIOException(
          ArtifactRegistryConfig.PREFIX + ".cache-dir " + config.getCacheDir() + " is not usable",
          e);
    }
  }

  /** Every {@link ArtifactFetcher} bean (one of the two above). */
  @Singleton
  ArtifactFetchers artifactFetchers(List<ArtifactFetcher> fetchers) {
    return new ArtifactFetchers(fetchers);
  }
}
