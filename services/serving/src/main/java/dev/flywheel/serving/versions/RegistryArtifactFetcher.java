package dev.flywheel.serving.versions;

import dev.flywheel.schemas.support.FileTrees;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches the artifact a version event points to ({@code file:} URIs on the trainers' artifact
 * root) over HTTP from the model registry, sending {@code Authorization: Bearer <api-key>} (the
 * registry wants the scope {@code artifacts:read}). It asks {@code GET /api/artifacts?uri=<artifact
 * URI>} for the listing (every file with size, SHA-256 and download URL), downloads each file into
 * {@code <cache-dir>/<artifact sha256>.partial-*}, checks its size and SHA-256 against the listing,
 * and renames the complete directory to {@code <cache-dir>/<artifact sha256>}. The caller still
 * verifies it with {@code ModelArtifacts.load(dir, sha256, ...)} (manifest against the event's
 * SHA-256).
 *
 * <p>Refusals by the registry (401, 403), a missing artifact (404), an unreachable registry and a
 * download that does not match its listing are {@link IOException}s: serving retries after {@code
 * load-retry-backoff}. A URI the registry calls invalid (400), a listing that is not a directory or
 * names a path outside it, and an artifact over {@code max-artifact-bytes} are permanent ({@link
 * UnsupportedArtifactException}). Downloads of earlier processes are deleted at start-up, so a
 * half-written cache never outlives a crash.
 */
public final class RegistryArtifactFetcher implements ArtifactFetcher {

  private static final Logger LOG = LoggerFactory.getLogger(RegistryArtifactFetcher.class);
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final String PARTIAL = ".partial-";

  private final URI base;
  private final String apiKey;
  private final Path cacheDir;
  private final Duration requestTimeout;
  private final long maxArtifactBytes;
  private final int keepCached;
  private final JsonMapper json;
  private final HttpClient http;

  public RegistryArtifactFetcher(ArtifactRegistryConfig config, JsonMapper json)
      throws IOException {
    this.base = config.baseUri();
    this.apiKey = config.requireApiKey();
    this.cacheDir =
        Files.createDirectories(Path.of(config.getCacheDir()).toAbsolutePath().normalize());
    this.requestTimeout = config.getRequestTimeout();
    this.maxArtifactBytes = config.getMaxArtifactBytes();
    this.keepCached = config.getKeepCached();
    this.json = json;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(config.getConnectTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    int removed = clearEarlierDownloads();
    LOG.info(
        "artifacts are fetched from the model registry at {} into {} ({} earlier download(s) removed)",
        base,
        cacheDir,
        removed);
  }

  @Override
  public boolean supports(URI uri) {
    return "file".equalsIgnoreCase(uri.getScheme());
  }

  @Override
  public synchronized Path fetch(URI uri, String expectedSha256) throws IOException {
    String sha = expectedSha256 == null ? "" : expectedSha256.toLowerCase(Locale.ROOT);
    if (!SHA256.matcher(sha).matches()) {
      throw new UnsupportedArtifactException(
          "the version's artifact SHA-256 '" + expectedSha256 + "' is not 64 hex digits");
    }
    Path cached = cacheDir.resolve(sha);
    if (Files.isDirectory(cached)) {
      Files.setLastModifiedTime(cached, FileTime.fromMillis(System.currentTimeMillis()));
      return cached;
    }
    List<Listed> files = listing(uri);
    Path partial = Files.createTempDirectory(cacheDir, sha + PARTIAL);
    try {
      for (Listed file : files) {
        download(file, partial);
      }
      try {
        Files.move(partial, cached, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
        // the same artifact arrived meanwhile: keep that one
      }
    } finally {
      FileTrees.deleteRecursively(partial);
    }
    LOG.info(
        "downloaded {} ({} file(s)) from the model registry into {}", uri, files.size(), cached);
    evictBeyond(keepCached, cached);
    return cached;
  }

  /**
   * One file of the listing: relative path, size, SHA-256 and the registry path to download it
   * from.
   */
  private record Listed(String path, long size, String sha256, String url) {}

  private List<Listed> listing(URI artifact) throws IOException {
    String path =
        "/api/artifacts?uri=" + URLEncoder.encode(artifact.toString(), StandardCharsets.UTF_8);
    HttpResponse<byte[]> response = send(path, HttpResponse.BodyHandlers.ofByteArray());
    check(
        response.statusCode(),
        new String(response.body(), StandardCharsets.UTF_8),
        artifact.toString());
    JsonNode body;
    try {
      body = json.readValue(response.body(), JsonNode.class);
    } catch (IOException | RuntimeException e) {
      throw new UnsupportedArtifactException(
          "the model registry's answer for "
              + artifact
              + " is not JSON: it is a "
              + "file, not an artifact directory");
    }
    JsonNode files = body == null ? null : body.get("files");
    if (files == null || !files.isArray() || files.size() == 0) {
      throw new UnsupportedArtifactException(
          "the model registry lists no files for " + artifact + ": not an artifact directory");
    }
    List<Listed> listed = new ArrayList<>();
    long total = 0;
    for (JsonNode f : files.values()) {
      Listed file =
          new Listed(
              text(f, "path"),
              number(f, "size"),
              text(f, "sha256").toLowerCase(Locale.ROOT),
              text(f, "url"));
      if (file.size() < 0
          || !SHA256.matcher(file.sha256()).matches()
          || !file.url().startsWith("/")) {
        throw new UnsupportedArtifactException(
            "the model registry's listing of "
                + artifact
                + " has an invalid entry for '"
                + file.path()
                + "'");
      }
      total += file.size();
      listed.add(file);
    }
    if (total > maxArtifactBytes) {
      throw new UnsupportedArtifactException(
          artifact
              + " holds "
              + total
              + " bytes, more than "
              + ArtifactRegistryConfig.PREFIX
              + ".max-artifact-bytes ("
              + maxArtifactBytes
              + ")");
    }
    return listed;
  }

  private void download(Listed file, Path dir) throws IOException {
    Path target = dir.resolve(file.path()).normalize();
    if (file.path().isEmpty()
        || file.path().startsWith("/")
        || file.path().contains("\\")
        || !target.startsWith(dir)
        || target.equals(dir)) {
      throw new UnsupportedArtifactException(
          "the model registry listed a path outside the artifact: '" + file.path() + "'");
    }
    Files.createDirectories(target.getParent());
    HttpResponse<InputStream> response =
        send(file.url(), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = response.body()) {
      if (response.statusCode() != 200) {
        check(
            response.statusCode(),
            new String(in.readNBytes(4096), StandardCharsets.UTF_8),
            file.path());
      }
      MessageDigest digest = sha256();
      long copied = 0;
      try (OutputStream out = new DigestOutputStream(Files.newOutputStream(target), digest)) {
        byte[] buffer = new byte[64 * 1024];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          copied += n;
          if (copied > file.size()) {
            throw new IOException(
                file.path()
                    + ": the model registry sent more than the "
                    + file.size()
                    + " bytes it listed (the artifact changed while it was fetched?)");
          }
          out.write(buffer, 0, n);
        }
      }
      String actual = HexFormat.of().formatHex(digest.digest());
      if (copied != file.size() || !actual.equals(file.sha256())) {
        throw new IOException(
            file.path()
                + ": downloaded "
                + copied
                + " bytes with SHA-256 "
                + actual
                + ", the listing said "
                + file.size()
                + " bytes with "
                + file.sha256());
      }
    }
  }

  private <T> HttpResponse<T> send(String path, HttpResponse.BodyHandler<T> handler)
      throws IOException {
    String root = base.toString().replaceAll("/+$", "");
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(root + path))
            .timeout(requestTimeout)
            .header("Authorization", "Bearer " + apiKey)
            .GET()
            .build();
    try {
      return http.send(request, handler);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while fetching " + path);
    }
  }

  /** Maps a status other than 200 to the exception that says whether a retry may help. */
  private static void check(int status, String body, String what) throws IOException {
    if (status == 200) {
      return;
    }
    String answer = status + " " + body.strip();
    switch (status) {
      case 401 ->
          throw new IOException(
              "the model registry does not accept the configured key for "
                  + what
                  + " ("
                  + answer
                  + "): set "
                  + ArtifactRegistryConfig.PREFIX
                  + ".api-key to a key it knows");
      case 403 ->
          throw new IOException(
              "the model registry refused "
                  + what
                  + " ("
                  + answer
                  + "): the key's app "
                  + "needs the scope artifacts:read, and the artifact must lie inside the registry's artifact root");
      case 404 ->
          throw new NoSuchFileException(what, null, "not on the model registry (" + answer + ")");
      case 400 ->
          throw new UnsupportedArtifactException(
              "the model registry cannot serve " + what + " (" + answer + ")");
      default -> throw new IOException("the model registry answered " + answer + " for " + what);
    }
  }

  private static String text(JsonNode node, String field) throws UnsupportedArtifactException {
    JsonNode value = node.get(field);
    if (value == null || !value.isString()) {
      throw new UnsupportedArtifactException(
          "the model registry's listing has no string '" + field + "'");
    }
    return value.getStringValue();
  }

  private static long number(JsonNode node, String field) throws UnsupportedArtifactException {
    JsonNode value = node.get(field);
    if (value == null || !value.isNumber()) {
      throw new UnsupportedArtifactException(
          "the model registry's listing has no number '" + field + "'");
    }
    return value.getLongValue();
  }

  /**
   * Removes downloads (complete or partial) of earlier processes; nothing else in the directory.
   */
  private int clearEarlierDownloads() throws IOException {
    int removed = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(cacheDir)) {
      for (Path entry : entries) {
        if (isDownload(entry)) {
          FileTrees.deleteRecursively(entry);
          removed++;
        }
      }
    }
    return removed;
  }

  /**
   * Keeps the {@code keep} most recently used downloads (always {@code current}); deletes the rest.
   */
  private void evictBeyond(int keep, Path current) throws IOException {
    List<Path> downloads = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(cacheDir)) {
      for (Path entry : entries) {
        if (isDownload(entry)
            && !entry.getFileName().toString().contains(PARTIAL)
            && !entry.equals(current)) {
          downloads.add(entry);
        }
      }
    }
    downloads.sort(Comparator.comparing(RegistryArtifactFetcher::lastModified).reversed());
    for (Path old : downloads.subList(Math.min(downloads.size(), keep - 1), downloads.size())) {
      FileTrees.deleteRecursively(old);
      LOG.info("removed the cached artifact {}", old);
    }
  }

  private static boolean isDownload(Path entry) {
    String name = entry.getFileName().toString();
    String sha = name.contains(PARTIAL) ? name.substring(0, name.indexOf(PARTIAL)) : name;
    return SHA256.matcher(sha).matches() && Files.isDirectory(entry);
  }

  private static FileTime lastModified(Path p) {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
