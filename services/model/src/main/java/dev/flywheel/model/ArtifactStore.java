package dev.flywheel.model;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;

/**
 * Where model artifact directories ({@link ModelArtifacts}) are kept and how services find them: a
 * trainer {@link #put}s a freshly saved artifact and publishes the URI (with the artifact SHA-256)
 * in a version event; a consumer {@link #resolve}s the URI to a local directory and loads it with
 * {@link ModelArtifacts#load}, which verifies it.
 *
 * <p>Artifacts are immutable: putting a name twice fails. Implementations: {@link
 * LocalArtifactStore} ({@code file:} URIs); a remote store (e.g. HTTP, object storage) would upload
 * in {@code put} and download into a local cache in {@code resolve}.
 */
public interface ArtifactStore {

  /**
   * Stores a copy of the artifact directory {@code directory} under {@code name} (for example
   * {@code policy/v42}; letters, digits, '.', '_', '-' and '/' separated segments).
   *
   * @return the URI under which the artifact can be resolved from now on
   * @throws java.nio.file.FileAlreadyExistsException if {@code name} is taken
   */
  URI put(String name, Path directory) throws IOException;

  /**
   * A local directory holding the artifact at {@code uri} (downloaded first if the store is
   * remote). Callers must still verify it with {@link ModelArtifacts#load}.
   *
   * @throws java.nio.file.NoSuchFileException if there is no artifact at {@code uri}
   * @throws IllegalArgumentException if {@code uri} does not belong to this store
   */
  Path resolve(URI uri) throws IOException;

  /** Whether an artifact exists at {@code uri}. */
  boolean exists(URI uri) throws IOException;

  /** Whether {@code uri} is one this store can resolve (its scheme and location). */
  boolean supports(URI uri);
}
