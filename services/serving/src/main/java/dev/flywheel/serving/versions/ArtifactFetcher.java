package dev.flywheel.serving.versions;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;

/**
 * Makes the artifact a version event points to available as a local directory: {@link
 * FileArtifactFetcher} reads {@code file:} URIs from a shared file system; {@link
 * RegistryArtifactFetcher} downloads them from the model registry's {@code /api/artifacts} (with an
 * API key) into a local cache directory. The caller always verifies the directory with {@code
 * ModelArtifacts.load(dir, expectedSha256, ...)}, so a fetcher need not be trusted with integrity.
 */
public interface ArtifactFetcher {

  /** Whether this fetcher handles {@code uri}. */
  boolean supports(URI uri);

  /**
   * A local directory holding the artifact.
   *
   * @param expectedSha256 the artifact SHA-256 from the version event (a cache may key on it)
   * @throws UnsupportedArtifactException if the URI can never be fetched (bad scheme, outside the
   *     root)
   * @throws IOException if it cannot be fetched now (missing, unreachable): worth retrying later
   */
  Path fetch(URI uri, String expectedSha256) throws IOException;

  /** The URI can never be fetched by this service: do not retry. */
  final class UnsupportedArtifactException extends IOException {
    private static final long serialVersionUID = 1L;

    public UnsupportedArtifactException(String message) {
      super(message);
    }
  }
}
