package dev.flywheel.modelregistry.artifacts;

import io.micronaut.context.annotation.Value;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Read-only access to the model artifact directories under one configured root ({@code
 * flywheel.model-registry.artifact-root}). Every path handed out is checked to lie inside the root,
 * both as written (after {@code ..} is resolved) and after symbolic links are followed, so a
 * request can never read a file elsewhere on the host.
 */
@Singleton
public class ArtifactFiles {

  /** Listings stop here; model directories hold a handful of files. */
  static final int MAX_FILES = 10_000;

  /** One file of an artifact directory. */
  public record FileEntry(String path, long size, String sha256) {}

  private record CachedHash(long size, long modified, String sha256) {}

  private final Path root;
  private final Map<Path, CachedHash> hashes = new ConcurrentHashMap<>();

  public ArtifactFiles(@Value("${flywheel.model-registry.artifact-root:artifacts}") String root) {
    this.root = Path.of(root).toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  /** The path a {@code file:} URI names, if it lies inside the root and exists. */
  public Path resolveUri(String uriText) {
    if (uriText == null || uriText.isBlank()) {
      throw new ArtifactException(HttpStatus.BAD_REQUEST, "missing artifact uri");
    }
    URI uri;
    try {
      uri = URI.create(uriText.trim());
    } catch (IllegalArgumentException e) {
      throw new ArtifactException(HttpStatus.BAD_REQUEST, "not a URI: " + e.getMessage());
    }
    if (uri.getScheme() == null || !uri.getScheme().toLowerCase(Locale.ROOT).equals("file")) {
      throw new ArtifactException(
          HttpStatus.BAD_REQUEST, "only file: URIs are served, not " + uriText);
    }
    if (uri.isOpaque() || uri.getPath() == null || uri.getPath().isEmpty()) {
      throw new ArtifactException(
          HttpStatus.BAD_REQUEST, "a file: URI needs an absolute path: " + uriText);
    }
    String host = uri.getHost();
    if (host != null && !host.isEmpty() && !host.equalsIgnoreCase("localhost")) {
      throw new ArtifactException(
          HttpStatus.BAD_REQUEST, "file: URIs on other hosts are not served: " + uriText);
    }
    if (uri.getPath().indexOf('\0') >= 0) {
      throw new ArtifactException(HttpStatus.BAD_REQUEST, "NUL in path");
    }
    return contained(Path.of(uri.getPath()), root, uriText);
  }

  /** A file (or directory) below {@code dir}, itself inside the root. */
  public Path resolveBelow(Path dir, String relative) {
    if (relative == null || relative.isBlank()) {
      throw new ArtifactException(HttpStatus.BAD_REQUEST, "missing file name");
    }
    if (relative.indexOf('\0') >= 0 || relative.indexOf('\\') >= 0) {
      throw new ArtifactException(HttpStatus.BAD_REQUEST, "illegal character in " + relative);
    }
    Path rel = Path.of(relative);
    if (rel.isAbsolute()) {
      throw new ArtifactException(
          HttpStatus.FORBIDDEN, relative + " is outside the artifact directory");
    }
    return contained(dir.resolve(rel), dir, relative);
  }

  private Path contained(Path candidate, Path base, String asked) {
    Path lexical = candidate.toAbsolutePath().normalize();
    Path baseAbs = base.toAbsolutePath().normalize();
    Path baseReal = realOrSelf(baseAbs);
    if (!lexical.startsWith(baseAbs) && !lexical.startsWith(baseReal)) {
      throw new ArtifactException(HttpStatus.FORBIDDEN, asked + " is outside the artifact root");
    }
    if (!Files.exists(lexical, LinkOption.NOFOLLOW_LINKS) && !Files.exists(lexical)) {
      throw new ArtifactException(HttpStatus.NOT_FOUND, asked + " does not exist");
    }
    Path real;
    try {
      real = lexical.toRealPath();
    } catch (IOException e) {
      throw new ArtifactException(HttpStatus.NOT_FOUND, asked + " does not exist");
    }
    Path rootReal = realOrSelf(root);
    if (!real.startsWith(baseReal) || !real.startsWith(rootReal)) {
      throw new ArtifactException(HttpStatus.FORBIDDEN, asked + " leads outside the artifact root");
    }
    return real;
  }

  private static Path realOrSelf(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException e) {
      return p;
    }
  }

  /**
   * The regular files below a directory, relative paths with '/', sorted, each with size and
   * SHA-256.
   */
  public List<FileEntry> list(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new ArtifactException(HttpStatus.NOT_FOUND, dir + " is not a directory");
    }
    List<FileEntry> out = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir, 16)) {
      for (Path p : (Iterable<Path>) walk.sorted()::iterator) {
        if (!Files.isRegularFile(p)) {
          continue;
        }
        Path real = p.toRealPath();
        if (!real.startsWith(dir)) {
          continue; // a link out of the directory: not listed, not served
        }
        if (out.size() >= MAX_FILES) {
          break;
        }
        String rel = dir.relativize(p).toString().replace('\\', '/');
        out.add(new FileEntry(rel, Files.size(real), sha256(real)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * SHA-256 of a file as lowercase hex, cached while its size and modification time stay the same.
   */
  public String sha256(Path file) {
    try {
      BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
      long modified = attrs.lastModifiedTime().toMillis();
      CachedHash cached = hashes.get(file);
      if (cached != null && cached.size() == attrs.size() && cached.modified() == modified) {
        return cached.sha256();
      }
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      try (InputStream in = Files.newInputStream(file)) {
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
          digest.update(buffer, 0, n);
        }
      }
      String hex = HexFormat.of().formatHex(digest.digest());
      hashes.put(file, new CachedHash(attrs.size(), modified, hex));
      return hex;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
