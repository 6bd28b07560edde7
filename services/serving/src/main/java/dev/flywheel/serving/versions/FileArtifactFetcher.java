package dev.flywheel.serving.versions;

import dev.flywheel.model.LocalArtifactStore;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code file:} URIs on a local or mounted file system. With a root ({@code
 * flywheel.serving.artifact-root}, the directory of the trainers' {@link LocalArtifactStore}) only
 * artifacts inside it are accepted; without one any absolute {@code file:} URI is.
 */
public final class FileArtifactFetcher implements ArtifactFetcher {

  private final LocalArtifactStore store;

  /**
   * @param root the artifact store's root, or null to accept any file: URI
   */
  public FileArtifactFetcher(Path root) throws IOException {
    this.store = root == null ? null : new LocalArtifactStore(root);
  }

  @Override
  public boolean supports(URI uri) {
    return "file".equalsIgnoreCase(uri.getScheme());
  }

  @Override
  public Path fetch(URI uri, String expectedSha256) throws IOException {
    if (store != null) {
      if (!store.supports(uri)) {
        throw new UnsupportedArtifactException(
            uri + " is outside the artifact root " + store.root().toUri());
      }
      return store.resolve(uri);
    }
    Path path;
    try {
      path = Path.of(uri).normalize();
    } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
      throw new UnsupportedArtifactException(
          "not a usable file: URI: " + uri + " (" + e.getMessage() + ")");
    }
    if (!Files.isDirectory(path)) {
      throw new NoSuchFileException(path.toString(), null, "no artifact directory at " + uri);
    }
    return path;
  }
}
