package dev.flywheel.serving;

import dev.flywheel.serving.versions.ArtifactFetcher;
import dev.flywheel.serving.versions.ArtifactFetchers;
import dev.flywheel.serving.versions.FileArtifactFetcher;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

@Factory
class ServingBeans {

  /** {@code file:} artifact URIs, inside {@code flywheel.serving.artifact-root} when it is set. */
  @Singleton
  ArtifactFetcher fileArtifactFetcher(ServingConfig config) {
    String root = config.getArtifactRoot();
    try {
      return new FileArtifactFetcher(root == null || root.isBlank() ? null : Path.of(root));
    } catch (IOException e) {
      throw new UncheckedIOException("flywheel.serving.artifact-root " + root + " is not usable", e);
    }
  }

  /** Every {@link ArtifactFetcher} bean: an HTTP one (model-registry downloads) is added by declaring it. */
  @Singleton
  ArtifactFetchers artifactFetchers(List<ArtifactFetcher> fetchers) {
    return new ArtifactFetchers(fetchers);
  }
}
