package dev.flywheel.modelregistry.artifacts;

import dev.flywheel.events.ModelKind;
import dev.flywheel.kit.auth.RequiresApiKey;
import dev.flywheel.modelregistry.api.ApiErrors;
import dev.flywheel.modelregistry.api.Views;
import dev.flywheel.modelregistry.state.Kinds;
import dev.flywheel.modelregistry.state.ModelState;
import dev.flywheel.modelregistry.state.VersionEntry;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.server.types.files.SystemFile;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Serves model artifacts from the artifact root, so that services on other hosts can fetch what a
 * version event points to. Files come with {@code X-Content-SHA256} (hex SHA-256 of the bytes);
 * directories answer with a manifest listing (every file with size, SHA-256 and download URL).
 * Every route needs an API key whose app holds {@link #READ_SCOPE}: the artifacts are the trained
 * models themselves (401 without a known key, 403 without the scope; service-kit {@code
 * ApiKeyFilter}).
 */
@Controller("/api/artifacts")
@ExecuteOn(TaskExecutors.BLOCKING)
@RequiresApiKey(scope = ArtifactsController.READ_SCOPE)
public class ArtifactsController {

  /** The scope an app needs to list or download model artifacts. */
  public static final String READ_SCOPE = "artifacts:read";

  public static final String SHA256_HEADER = "X-Content-SHA256";
  public static final String ARTIFACT_SHA256_HEADER = "X-Artifact-SHA256";
  static final String MANIFEST = "manifest.json";

  private final ArtifactFiles store;
  private final ModelState state;

  public ArtifactsController(ArtifactFiles store, ModelState state) {
    this.store = store;
    this.state = state;
  }

  /** {@code ?uri=file:///...}: a file's bytes, or a directory's listing. */
  @Get
  public HttpResponse<?> byUri(@Nullable @QueryValue String uri) {
    try {
      Path path = store.resolveUri(uri);
      if (Files.isDirectory(path)) {
        Map<String, Object> body = listing(path, uri, null);
        return HttpResponse.ok(body);
      }
      return file(path);
    } catch (ArtifactException e) {
      return ApiErrors.error(e.status(), e.getMessage());
    }
  }

  /** The listing of a version's artifact directory, with the checksum from its version event. */
  @Get("/{kind}/{version}")
  public HttpResponse<?> versionListing(@PathVariable String kind, @PathVariable long version) {
    try {
      VersionEntry entry = entry(kind, version);
      Path dir = store.resolveUri(entry.artifactUri());
      if (!Files.isDirectory(dir)) {
        return file(dir).header(ARTIFACT_SHA256_HEADER, entry.artifactSha256());
      }
      String base = "/api/artifacts/" + Kinds.urlName(entry.kind()) + "/" + version + "/";
      Map<String, Object> body = listing(dir, entry.artifactUri(), base);
      body.put("kind", Kinds.urlName(entry.kind()));
      body.put("version", version);
      body.put("artifactSha256", entry.artifactSha256());
      Object manifestSha = body.get("manifestSha256");
      body.put("verified", manifestSha != null && manifestSha.equals(entry.artifactSha256()));
      return HttpResponse.ok(body).header(ARTIFACT_SHA256_HEADER, entry.artifactSha256());
    } catch (ArtifactException e) {
      return ApiErrors.error(e.status(), e.getMessage());
    }
  }

  /**
   * One file of a version's artifact directory, e.g. {@code manifest.json} or {@code
   * params/model.params}.
   */
  @Get("/{kind}/{version}/{+file}")
  public HttpResponse<?> versionFile(
      @PathVariable String kind, @PathVariable long version, @PathVariable String file) {
    try {
      VersionEntry entry = entry(kind, version);
      Path dir = store.resolveUri(entry.artifactUri());
      if (!Files.isDirectory(dir)) {
        throw new ArtifactException(
            io.micronaut.http.HttpStatus.NOT_FOUND,
            "the artifact of " + kind + " " + version + " is not a directory");
      }
      Path path = store.resolveBelow(dir, file);
      if (Files.isDirectory(path)) {
        return HttpResponse.ok(listing(path, path.toUri().toString(), null));
      }
      return file(path);
    } catch (ArtifactException e) {
      return ApiErrors.error(e.status(), e.getMessage());
    }
  }

  private VersionEntry entry(String kind, long version) {
    Optional<ModelKind> k = Kinds.parse(kind);
    if (k.isEmpty()) {
      throw new ArtifactException(
          io.micronaut.http.HttpStatus.NOT_FOUND, "unknown kind '" + kind + "' (policy or reward)");
    }
    return state
        .version(k.get(), version)
        .orElseThrow(
            () ->
                new ArtifactException(
                    io.micronaut.http.HttpStatus.NOT_FOUND,
                    Kinds.urlName(k.get()) + " version " + version + " is unknown"));
  }

  private Map<String, Object> listing(Path dir, String uri, String downloadBase) {
    List<ArtifactFiles.FileEntry> files;
    try {
      files = store.list(dir);
    } catch (UncheckedIOException e) {
      throw new ArtifactException(
          io.micronaut.http.HttpStatus.INTERNAL_SERVER_ERROR,
          "cannot list " + uri + ": " + e.getMessage());
    }
    Map<String, Object> body = Views.obj();
    body.put("uri", uri);
    String manifestSha =
        files.stream()
            .filter(f -> f.path().equals(MANIFEST))
            .map(ArtifactFiles.FileEntry::sha256)
            .findFirst()
            .orElse(null);
    body.put("manifestSha256", manifestSha);
    body.put(
        "files",
        files.stream()
            .map(
                f -> {
                  Map<String, Object> m = Views.obj();
                  m.put("path", f.path());
                  m.put("size", f.size());
                  m.put("sha256", f.sha256());
                  m.put(
                      "url",
                      downloadBase != null
                          ? downloadBase + f.path()
                          : "/api/artifacts?uri="
                              + java.net.URLEncoder.encode(
                                  dir.resolve(f.path()).toUri().toString(),
                                  java.nio.charset.StandardCharsets.UTF_8));
                  return m;
                })
            .toList());
    return body;
  }

  private io.micronaut.http.MutableHttpResponse<?> file(Path path) {
    if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
      throw new ArtifactException(
          io.micronaut.http.HttpStatus.NOT_FOUND, path.getFileName() + " is not a readable file");
    }
    String sha = store.sha256(path);
    MediaType type =
        path.getFileName().toString().endsWith(".json")
            ? MediaType.APPLICATION_JSON_TYPE
            : MediaType.APPLICATION_OCTET_STREAM_TYPE;
    return HttpResponse.ok(new SystemFile(path.toFile(), type))
        .header(SHA256_HEADER, sha)
        .header("ETag", "\"" + sha + "\"");
  }
}
