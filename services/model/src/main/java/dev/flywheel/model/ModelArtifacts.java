package dev.flywheel.model;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Model artifacts: immutable, self-verifying directories.
 *
 * <pre>
 *   parameters.bin   Block.saveParameters of the model (trunk and head)
 *   config.json      {@link GptConfig}
 *   tokenizer.json   {@link ByteTokenizer#toJson()}
 *   manifest.json    format, model kind, metadata, and the SHA-256 of each file above
 * </pre>
 *
 * The artifact SHA-256 is the SHA-256 of manifest.json: it pins every byte of the artifact and is
 * what version events carry. {@link #load} verifies every file against the manifest (and the
 * manifest against the expected artifact SHA-256) before reading any of them.
 */
public final class ModelArtifacts {

  public static final String FORMAT = "flywheel-model/1";
  public static final String MANIFEST = "manifest.json";
  public static final String PARAMETERS = "parameters.bin";
  public static final String CONFIG = "config.json";
  public static final String TOKENIZER = "tokenizer.json";

  private ModelArtifacts() {}

  /**
   * What manifest.json holds.
   *
   * @param format {@link #FORMAT}
   * @param kind which head the parameters belong to
   * @param files SHA-256 (lower-case hex) of every other file, by name
   * @param metadata caller-supplied key/values
   */
  public record Manifest(
      String format, ModelKind kind, Map<String, String> files, Map<String, String> metadata) {}

  /**
   * Writes {@code model} as a new artifact directory {@code dir} (which must not exist yet; it is
   * written next to it and moved into place, so a reader never sees half an artifact).
   *
   * @param metadata free-form key/values kept in the manifest (e.g. version, parent, training data
   *     offsets)
   * @return the artifact SHA-256 (SHA-256 of manifest.json, lower-case hex)
   */
  public static String save(
      Path dir, GptModel model, ByteTokenizer tokenizer, Map<String, String> metadata)
      throws IOException {
    if (Files.exists(dir)) {
      throw new FileAlreadyExistsException(
          dir.toString(), null, "artifacts are immutable; pick a new directory");
    }
    Path parent = dir.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path staging = parent.resolve("." + dir.getFileName() + ".tmp-" + UUID.randomUUID());
    Files.createDirectory(staging);
    try {
      try (OutputStream out = Files.newOutputStream(staging.resolve(PARAMETERS));
          DataOutputStream data = new DataOutputStream(new BufferedOutputStream(out))) {
        model.saveParameters(data);
      }
      Files.writeString(staging.resolve(CONFIG), model.config().toJson());
      Files.writeString(staging.resolve(TOKENIZER), tokenizer.toJson());
      Map<String, String> files = new TreeMap<>();
      for (String name : List.of(CONFIG, PARAMETERS, TOKENIZER)) {
        files.put(name, sha256(staging.resolve(name)));
      }
      Manifest manifest = new Manifest(FORMAT, model.kind(), files, new TreeMap<>(metadata));
      byte[] manifestBytes =
          ModelJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest);
      Files.write(staging.resolve(MANIFEST), manifestBytes);
      // durable before it becomes visible: a version event may commit right after this returns
      fsyncTree(staging);
      moveIntoPlace(staging, dir);
      fsync(parent);
      return HexFormat.of().formatHex(digest().digest(manifestBytes));
    } finally {
      deleteRecursively(staging);
    }
  }

  /**
   * Verifies and loads the artifact in {@code dir} onto {@code manager}'s device.
   *
   * @param expectedSha256 the artifact SHA-256 from the version event, or null to check only the
   *     files against the manifest
   * @throws ArtifactIntegrityException if any checksum differs or a file is missing or unlisted
   */
  public static LoadedModel load(Path dir, String expectedSha256, NDManager manager)
      throws IOException {
    Manifest manifest = verify(dir, expectedSha256);
    String sha =
        HexFormat.of().formatHex(digest().digest(Files.readAllBytes(dir.resolve(MANIFEST))));
    GptConfig config = GptConfig.fromJson(Files.readString(dir.resolve(CONFIG)));
    ByteTokenizer tokenizer = ByteTokenizer.fromJson(Files.readString(dir.resolve(TOKENIZER)));
    if (config.vocabSize() != tokenizer.vocabSize()) {
      throw new IOException(
          "config vocabSize " + config.vocabSize() + " != tokenizer's " + tokenizer.vocabSize());
    }
    GptModel model = GptModel.unallocated(manifest.kind(), config);
    NDManager owner = manager.newSubManager();
    try (InputStream in = Files.newInputStream(dir.resolve(PARAMETERS));
        DataInputStream data = new DataInputStream(new BufferedInputStream(in))) {
      model.loadParameters(owner, data);
      model.adoptLoaded(owner);
    } catch (MalformedModelException | RuntimeException e) {
      owner.close();
      throw new IOException("cannot load parameters of " + dir + ": " + e.getMessage(), e);
    }
    return new LoadedModel(model, tokenizer, Map.copyOf(manifest.metadata()), sha);
  }

  /**
   * Checks {@code dir} without loading it: the manifest against {@code expectedSha256} (if not
   * null), then every file against the manifest; no other files may be present.
   */
  public static Manifest verify(Path dir, String expectedSha256) throws IOException {
    Path manifestPath = dir.resolve(MANIFEST);
    if (!Files.isRegularFile(manifestPath)) {
      throw new ArtifactIntegrityException(
          MANIFEST, expectedSha256, null, dir + " has no " + MANIFEST);
    }
    byte[] manifestBytes = Files.readAllBytes(manifestPath);
    if (expectedSha256 != null) {
      String actual = HexFormat.of().formatHex(digest().digest(manifestBytes));
      if (!actual.equalsIgnoreCase(expectedSha256)) {
        throw new ArtifactIntegrityException(
            MANIFEST,
            expectedSha256.toLowerCase(java.util.Locale.ROOT),
            actual,
            "artifact SHA-256 mismatch in "
                + dir
                + ": "
                + MANIFEST
                + " hashes to "
                + actual
                + ", expected "
                + expectedSha256);
      }
    }
    Manifest manifest;
    try {
      manifest = ModelJson.MAPPER.readValue(manifestBytes, Manifest.class);
    } catch (JsonProcessingException e) {
      throw new ArtifactIntegrityException(
          MANIFEST,
          null,
          null,
          "unreadable " + MANIFEST + " in " + dir + ": " + e.getOriginalMessage());
    }
    if (manifest == null
        || !FORMAT.equals(manifest.format())
        || manifest.kind() == null
        || manifest.files() == null) {
      throw new IOException("not a " + FORMAT + " manifest: " + manifestPath);
    }
    if (!manifest.files().keySet().containsAll(List.of(CONFIG, PARAMETERS, TOKENIZER))) {
      throw new IOException(
          MANIFEST + " in " + dir + " does not list " + List.of(CONFIG, PARAMETERS, TOKENIZER));
    }
    for (Map.Entry<String, String> file : new TreeMap<>(manifest.files()).entrySet()) {
      Path path = dir.resolve(file.getKey()).normalize();
      if (!path.getParent().equals(dir.normalize()) || !Files.isRegularFile(path)) {
        throw new ArtifactIntegrityException(
            file.getKey(),
            file.getValue(),
            null,
            "artifact file " + file.getKey() + " is missing from " + dir);
      }
      String actual = sha256(path);
      if (!actual.equalsIgnoreCase(file.getValue())) {
        throw new ArtifactIntegrityException(
            file.getKey(),
            file.getValue(),
            actual,
            "checksum mismatch for "
                + file.getKey()
                + " in "
                + dir
                + ": SHA-256 "
                + actual
                + ", manifest says "
                + file.getValue());
      }
    }
    Set<String> present = new TreeSet<>();
    try (Stream<Path> listing = Files.list(dir)) {
      listing.forEach(p -> present.add(p.getFileName().toString()));
    }
    present.remove(MANIFEST);
    present.removeAll(manifest.files().keySet());
    if (!present.isEmpty()) {
      String extra = present.iterator().next();
      throw new ArtifactIntegrityException(
          extra, null, null, "unlisted file " + extra + " in artifact " + dir);
    }
    if (manifest.metadata() == null) {
      manifest = new Manifest(manifest.format(), manifest.kind(), manifest.files(), Map.of());
    }
    return manifest;
  }

  /** SHA-256 of a file, lower-case hex, streamed. */
  public static String sha256(Path file) throws IOException {
    MessageDigest digest = digest();
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  private static void moveIntoPlace(Path staging, Path dir) throws IOException {
    try {
      Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(staging, dir);
    }
  }

  /** fsync of every file and directory under {@code root} (children first). */
  static void fsyncTree(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        fsync(p);
      }
    }
  }

  /**
   * fsync of one file or directory (a file system that cannot open a directory skips it: the rename
   * stays atomic).
   */
  static void fsync(Path path) throws IOException {
    boolean dir = Files.isDirectory(path);
    try (java.nio.channels.FileChannel channel =
        java.nio.channels.FileChannel.open(
            path,
            dir ? java.nio.file.StandardOpenOption.READ : java.nio.file.StandardOpenOption.WRITE)) {
      channel.force(true);
    } catch (IOException e) {
      if (!dir) {
        throw e;
      }
    }
  }

  static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
