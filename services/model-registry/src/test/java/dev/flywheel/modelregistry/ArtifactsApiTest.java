package dev.flywheel.modelregistry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model artifacts are served with their SHA-256 to a key with the artifacts:read scope only;
 * nothing outside the artifact root is.
 */
@ExtendWith(FlywheelInfraExtension.class)
class ArtifactsApiTest {

  static final String SECRET = "TOP-SECRET-7d1f9c";
  static RegistryHarness registry;
  static Path root;
  static Path outside;
  static Path v3;
  static byte[] params;
  static String manifestSha;

  @BeforeAll
  static void start(FlywheelInfra infra, @TempDir Path tmp) throws Exception {
    root = Files.createDirectories(tmp.resolve("artifacts"));
    outside = Files.writeString(tmp.resolve("secret.txt"), SECRET);
    v3 = Files.createDirectories(root.resolve("policy/v3"));
    params = new byte[200_000];
    new Random(7).nextBytes(params);
    Files.createDirectories(v3.resolve("params"));
    Files.write(v3.resolve("params/model.params"), params);
    Files.writeString(v3.resolve("config.json"), "{\"layers\":2}");
    Files.writeString(
        v3.resolve("manifest.json"),
        "{\"files\":{\"params/model.params\":\"" + sha256(params) + "\"}}");
    manifestSha = sha256(Files.readAllBytes(v3.resolve("manifest.json")));
    Files.createSymbolicLink(v3.resolve("escape.txt"), outside);

    registry = new RegistryHarness(infra, root);
    registry.publish(
        withArtifact(
            RegistryHarness.policy(3, PolicyStage.PPO, List.of(1L), 1L, ModelStatus.CANDIDATE, 1),
            v3.toUri().toString(),
            manifestSha));
    // a version event pointing outside the root must not turn the registry into a file server
    registry.publish(
        withArtifact(
            RegistryHarness.policy(9, PolicyStage.PPO, List.of(1L), 1L, ModelStatus.CANDIDATE, 2),
            tmp.toUri().toString(),
            "0".repeat(64)));
    registry.start();
  }

  static PolicyVersion withArtifact(PolicyVersion v, String uri, String sha) {
    v.setArtifactUri(uri);
    v.setArtifactSha256(sha);
    return v;
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  static String q(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** GET with the artifact reader's key. */
  static HttpResponse<byte[]> get(String path) {
    return registry.get(path, RegistryHarness.READER_KEY);
  }

  /**
   * A request with the path exactly as written (no client-side normalisation of "..'), with the
   * reader's key.
   */
  static HttpResponse<byte[]> raw(String path) {
    return registry.send(
        HttpRequest.newBuilder(URI.create(registry.baseUrl() + path))
            .GET()
            .header("Authorization", "Bearer " + RegistryHarness.READER_KEY)
            .build());
  }

  static void assertRefused(HttpResponse<byte[]> r) {
    // refused by the containment check itself (403; 400 for what is not a local file URI), not a
    // 404
    assertTrue(
        r.statusCode() == 403 || r.statusCode() == 400,
        "expected a refusal, got "
            + r.statusCode()
            + " "
            + new String(r.body(), StandardCharsets.UTF_8));
    assertFalse(
        new String(r.body(), StandardCharsets.UTF_8).contains(SECRET),
        "leaked a file outside the root");
  }

  /** Every artifact route: by version (listing and file) and by URI (listing and file). */
  static List<String> artifactPaths() {
    return List.of(
        "/api/artifacts/policy/3",
        "/api/artifacts/policy/3/params/model.params",
        "/api/artifacts/policy/3/manifest.json",
        "/api/artifacts?uri=" + q(v3.toUri().toString()),
        "/api/artifacts?uri=" + q(v3.resolve("params/model.params").toUri().toString()));
  }

  @Test
  void downloadsWithoutAKeyAre401() {
    for (String path : artifactPaths()) {
      HttpResponse<byte[]> none = registry.get(path);
      assertEquals(401, none.statusCode(), path);
      assertTrue(
          none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), path);
      assertFalse(java.util.Arrays.equals(params, none.body()), path);
      JsonNode error = RegistryHarness.parse(none.body());
      assertEquals("unauthorized", error.path("error").asText(), path);

      assertEquals(
          401, registry.get(path, "fwk_not-a-configured-key").statusCode(), path + " unknown key");
      HttpResponse<byte[]> basic =
          registry.send(
              HttpRequest.newBuilder(URI.create(registry.baseUrl() + path))
                  .GET()
                  .header("Authorization", "Basic " + RegistryHarness.READER_KEY)
                  .build());
      assertEquals(401, basic.statusCode(), path + " not a bearer key");
    }
  }

  @Test
  void downloadsWithAKeyLackingTheReadScopeAre403() {
    for (String key : List.of(RegistryHarness.OPERATOR_KEY, RegistryHarness.VIEWER_KEY)) {
      for (String path : artifactPaths()) {
        HttpResponse<byte[]> r = registry.get(path, key);
        assertEquals(403, r.statusCode(), path);
        JsonNode error = RegistryHarness.parse(r.body());
        assertEquals("forbidden", error.path("error").asText(), path);
        assertTrue(error.path("message").asText().contains("artifacts:read"), error.toString());
      }
    }
    for (String path : artifactPaths()) {
      assertEquals(200, get(path).statusCode(), path + " with the artifacts:read key");
    }
  }

  @Test
  void versionFilesComeWithTheirSha256() throws Exception {
    HttpResponse<byte[]> r = get("/api/artifacts/policy/3/params/model.params");
    assertEquals(200, r.statusCode());
    assertArrayEquals(params, r.body());
    assertEquals(sha256(params), r.headers().firstValue("X-Content-SHA256").orElseThrow());
    assertEquals(sha256(r.body()), r.headers().firstValue("X-Content-SHA256").orElseThrow());

    HttpResponse<byte[]> manifest = get("/api/artifacts/policy/3/manifest.json");
    assertEquals(200, manifest.statusCode());
    assertEquals(
        manifestSha,
        sha256(manifest.body()),
        "the manifest's SHA-256 is the version's artifact SHA");
  }

  @Test
  void versionListingIsAManifestOfTheDirectory() throws Exception {
    HttpResponse<byte[]> r = get("/api/artifacts/policy/3");
    assertEquals(200, r.statusCode());
    assertEquals(manifestSha, r.headers().firstValue("X-Artifact-SHA256").orElseThrow());
    JsonNode listing = RegistryHarness.parse(r.body());
    assertTrue(listing.path("verified").asBoolean(), listing.toString());
    assertEquals(manifestSha, listing.path("manifestSha256").asText());
    List<String> paths = new java.util.ArrayList<>();
    for (JsonNode f : listing.path("files")) {
      paths.add(f.path("path").asText());
      if (f.path("path").asText().equals("params/model.params")) {
        assertEquals(params.length, f.path("size").asLong());
        assertEquals(sha256(params), f.path("sha256").asText());
        assertEquals("/api/artifacts/policy/3/params/model.params", f.path("url").asText());
      }
    }
    assertEquals(
        List.of("config.json", "manifest.json", "params/model.params"),
        paths,
        "the link leading out of the root is not listed");
  }

  @Test
  void filesByUriInsideTheRoot() throws Exception {
    HttpResponse<byte[]> r =
        get("/api/artifacts?uri=" + q(v3.resolve("params/model.params").toUri().toString()));
    assertEquals(200, r.statusCode());
    assertArrayEquals(params, r.body());
    assertEquals(sha256(params), r.headers().firstValue("X-Content-SHA256").orElseThrow());
    JsonNode dir =
        RegistryHarness.parse(get("/api/artifacts?uri=" + q(v3.toUri().toString())).body());
    assertEquals(manifestSha, dir.path("manifestSha256").asText());
    assertEquals(
        404,
        get("/api/artifacts?uri=" + q(v3.resolve("nope.bin").toUri().toString())).statusCode());
  }

  @Test
  void pathTraversalIsRefused() {
    String rootUri = root.toUri().toString();
    assertRefused(get("/api/artifacts?uri=" + q("file:///etc/passwd")));
    assertRefused(get("/api/artifacts?uri=" + q(outside.toUri().toString())));
    assertRefused(get("/api/artifacts?uri=" + q(rootUri + "../secret.txt")));
    assertRefused(get("/api/artifacts?uri=" + q(rootUri + "policy/v3/../../../secret.txt")));
    assertRefused(
        get("/api/artifacts?uri=" + q(rootUri + "policy/v3/%2e%2e/%2e%2e/%2e%2e/secret.txt")));
    assertRefused(get("/api/artifacts?uri=" + q("http://example.com/x")));
    assertRefused(get("/api/artifacts?uri=" + q("file:secret.txt")));
    assertEquals(403, get("/api/artifacts?uri=" + q(outside.toUri().toString())).statusCode());

    assertRefused(raw("/api/artifacts/policy/3/../../../secret.txt"));
    assertRefused(raw("/api/artifacts/policy/3/..%2F..%2F..%2Fsecret.txt"));
    assertRefused(raw("/api/artifacts/policy/3/%2e%2e/%2e%2e/%2e%2e/secret.txt"));
    assertRefused(raw("/api/artifacts/policy/3/params/..%2F..%2F..%2F..%2Fsecret.txt"));
    assertRefused(raw("/api/artifacts/policy/3/%2Fetc%2Fpasswd"));
    HttpResponse<byte[]> link = get("/api/artifacts/policy/3/escape.txt");
    assertRefused(link);
    assertEquals(403, link.statusCode(), "a symbolic link out of the root is refused");

    HttpResponse<byte[]> foreign = get("/api/artifacts/policy/9");
    assertRefused(foreign);
    assertEquals(
        403, foreign.statusCode(), "a version whose artifact lies outside the root is refused");
    assertRefused(get("/api/artifacts/policy/9/secret.txt"));
    assertNotEquals(200, get("/api/artifacts/policy/404").statusCode());
  }
}
