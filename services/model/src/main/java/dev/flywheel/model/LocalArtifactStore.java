package dev.flywheel.model;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An {@link ArtifactStore} on a local or mounted file system: artifact {@code name} lives in {@code
 * root/name} and is addressed by its {@code file:} URI. Services sharing a volume mounted at the
 * same path can exchange artifacts through it.
 */
public final class LocalArtifactStore implements ArtifactStore {

  private static final Pattern NAME =
      Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*");

  private final Path root;

  public LocalArtifactStore(Path root) throws IOException {
    this.root = Files.createDirectories(root).toRealPath();
  }

  public Path root() {
    return root;
  }

  @Override
  public URI put(String name, Path directory) throws IOException {
    if (!NAME.matcher(name).matches() || name.contains("..")) {
      throw new IllegalArgumentException("invalid artifact name: '" + name + "'");
    }
    if (!Files.isDirectory(directory)) {
      throw new NoSuchFileException(directory.toString(), null, "not a directory");
    }
    Path target = root.resolve(name);
    if (Files.exists(target)) {
      throw new FileAlreadyExistsException(target.toString(), null, "artifact names are immutable");
    }
    Files.createDirectories(target.getParent());
    Path staging = target.resolveSibling("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      copyTree(directory, staging);
      // written, fsynced, renamed, parent fsynced: the version event that names it may commit next
      ModelArtifacts.fsyncTree(staging);
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      ModelArtifacts.fsync(target.getParent());
    } finally {
      ModelArtifacts.deleteRecursively(staging);
    }
    return target.toUri();
  }

  @Override
  public Path resolve(URI uri) throws IOException {
    Path path = toPath(uri);
    if (!Files.isDirectory(path)) {
      throw new NoSuchFileException(path.toString(), null, "no artifact at " + uri);
    }
    return path;
  }

  @Override
  public boolean exists(URI uri) {
    return Files.isDirectory(toPath(uri));
  }

  @Override
  public boolean supports(URI uri) {
    if (!"file".equalsIgnoreCase(uri.getScheme())) {
      return false;
    }
    Path path = Path.of(uri).normalize();
    return path.startsWith(root) && !path.equals(root);
  }

  private Path toPath(URI uri) {
    if (!supports(uri)) {
      throw new IllegalArgumentException(uri + " is not under this store's root " + root.toUri());
    }
    return Path.of(uri).normalize();
  }

  private static void copyTree(Path source, Path target) throws IOException {
    try (Stream<Path> walk = Files.walk(source)) {
      for (Path from : walk.toList()) {
        Path to = target.resolve(source.relativize(from).toString());
        if (Files.isDirectory(from)) {
          Files.createDirectories(to);
        } else {
          Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }
}
