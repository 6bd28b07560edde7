package dev.flywheel.serving;

import static dev.flywheel.serving.TestServing.chat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.kit.auth.ApiKeys;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.serving.versions.ArtifactFetcher.UnsupportedArtifactException;
import dev.flywheel.serving.versions.ArtifactRegistryConfig;
import dev.flywheel.serving.versions.RegistryArtifactFetcher;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import io.micronaut.context.ApplicationContext;
import io.micronaut.json.JsonMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Serving fetches artifacts over HTTP from the real model registry (started in its own class
 * loader) with its configured key: a key with {@code artifacts:read} loads the version, a key
 * without the scope or an unknown one loads nothing and says why, and no key at all fails start-up.
 */
@ExtendWith(FlywheelInfraExtension.class)
class RegistryArtifactFetchTest {

  static final String FETCH_KEY = ApiKeys.generate();
  static final String OPERATOR_KEY = ApiKeys.generate();

  static FlywheelInfra infra;
  static IsolatedModelRegistry registry;
  static Path root;
  static String uri;
  static String sha;

  @BeforeAll
  static void start(FlywheelInfra shared) {
    infra = shared;
    root = infra.newTempDirectory("registry-artifacts");
    Path dir = root.resolve("policy/v1-test");
    sha = TestModels.save(dir, 11);
    uri = dir.toUri().toString();
    registry =
        new IsolatedModelRegistry(
            infra,
            root,
            Map.of(
                "flywheel.auth.apps.serving.key-hashes", List.of(ApiKeys.sha256Hex(FETCH_KEY)),
                "flywheel.auth.apps.serving.scopes", List.of("artifacts:read"),
                "flywheel.auth.apps.ops.key-hashes", List.of(ApiKeys.sha256Hex(OPERATOR_KEY)),
                "flywheel.auth.apps.ops.scopes", List.of("operator")));
  }

  @AfterAll
  static void stop() throws Exception {
    if (registry != null) {
      registry.close();
    }
  }

  static Map<String, Object> fetchFromRegistry(String key, Path cache) {
    return Map.of(
        ArtifactRegistryConfig.PREFIX + ".url", registry.url(),
        ArtifactRegistryConfig.PREFIX + ".api-key", key,
        ArtifactRegistryConfig.PREFIX + ".cache-dir", cache.toString());
  }

  @Test
  void servingLoadsAVersionItDownloadedWithItsKey() throws IOException {
    Path cache = infra.newTempDirectory("serving-cache");
    try (TestServing serving = new TestServing(infra, fetchFromRegistry(FETCH_KEY, cache))) {
      // the artifact lies outside serving's own artifact-root: only the registry can have delivered
      // it
      assertFalse(root.startsWith(serving.artifacts));
      serving.publishVersion(1, ModelStatus.LIVE, uri, sha);
      serving.awaitLive(1, Duration.ofSeconds(120));

      Reply reply = serving.completion(chat("flywheel", "Hello", "max_tokens", 6, "seed", 3));
      assertEquals(200, reply.status(), reply.text());
      assertEquals("policy-v1", reply.json().get("model").asText());

      Path downloaded = cache.resolve(sha);
      assertTrue(Files.isDirectory(downloaded), "downloaded into <cache-dir>/<sha256>");
      Path original = root.resolve("policy/v1-test");
      try (Stream<Path> files = Files.walk(original)) {
        for (Path file : files.filter(Files::isRegularFile).toList()) {
          assertArrayEquals(
              Files.readAllBytes(file),
              Files.readAllBytes(downloaded.resolve(original.relativize(file))),
              file.toString());
        }
      }
      String metrics = serving.get("/prometheus", null).text();
      assertTrue(
          metrics.contains("flywheel_serving_model_loads_total{outcome=\"ok\"} 1.0"),
          metrics.lines().filter(l -> l.contains("model_loads")).toList().toString());
    }
  }

  @Test
  void aKeyWithoutTheReadScopeLoadsNothingAndTheDeadLetterSaysWhy() {
    Path cache = infra.newTempDirectory("serving-cache");
    try (TestServing serving = new TestServing(infra, fetchFromRegistry(OPERATOR_KEY, cache))) {
      serving.publishVersion(1, ModelStatus.LIVE, uri, sha);
      TestServing.await(
          () -> serving.byKey(serving.deadLettersTopic, DeadLetter.class).containsKey("1"),
          Duration.ofSeconds(60),
          "a dead letter for version 1");
      DeadLetter letter = serving.byKey(serving.deadLettersTopic, DeadLetter.class).get("1");
      assertEquals(
          "ARTIFACT_UNAVAILABLE",
          letter.getErrorType(),
          "retried later: the registry's keys may change");
      assertTrue(
          letter.getReason().contains("403") && letter.getReason().contains("artifacts:read"),
          letter.getReason());
      assertNull(serving.manager().routing().live(), "nothing is served");
      assertEquals(503, serving.completion(chat("flywheel", "Hello")).status());
      try (Stream<Path> left = Files.list(cache)) {
        assertEquals(
            List.of(), left.toList(), "nothing downloaded, nothing half-written left behind");
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  @Test
  void anUnknownKeyIsRefusedWith401AndARelistedVersionIsCached() throws Exception {
    ArtifactRegistryConfig config = new ArtifactRegistryConfig();
    config.setUrl(registry.url());
    config.setApiKey(ApiKeys.generate());
    config.setCacheDir(infra.newTempDirectory("fetcher-cache").toString());
    RegistryArtifactFetcher unknown =
        new RegistryArtifactFetcher(config, JsonMapper.createDefault());
    IOException refused =
        assertThrows(IOException.class, () -> unknown.fetch(URI.create(uri), sha));
    assertFalse(
        refused instanceof UnsupportedArtifactException, "worth retrying once the key is known");
    assertTrue(refused.getMessage().contains("401"), refused.getMessage());

    config.setApiKey(FETCH_KEY);
    RegistryArtifactFetcher fetcher =
        new RegistryArtifactFetcher(config, JsonMapper.createDefault());
    Path first = fetcher.fetch(URI.create(uri), sha);
    assertTrue(Files.isRegularFile(first.resolve("manifest.json")));
    assertEquals(
        first,
        fetcher.fetch(URI.create(uri), sha.toUpperCase()),
        "the second fetch is the cached copy");

    // the registry refuses what lies outside its root (403, retried); a malformed SHA-256 is
    // permanent
    IOException outside =
        assertThrows(
            IOException.class, () -> fetcher.fetch(URI.create("file:///etc/"), "b".repeat(64)));
    assertTrue(outside.getMessage().contains("403"), outside.getMessage());
    assertThrows(
        UnsupportedArtifactException.class, () -> fetcher.fetch(URI.create(uri), "not-a-sha"));
    IOException missing =
        assertThrows(
            IOException.class,
            () -> fetcher.fetch(root.resolve("policy/v9-missing").toUri(), "a".repeat(64)));
    assertFalse(missing instanceof UnsupportedArtifactException, missing.toString());
    assertTrue(missing.getMessage().contains("404"), missing.getMessage());
  }

  @Test
  void aRegistryUrlWithoutAKeyFailsStartUpNamingTheSetting() {
    Map<String, Object> props =
        Map.of(
            "micronaut.server.port",
            -1,
            "flywheel.kafka.bootstrap-servers",
            infra.bootstrapServers(),
            "flywheel.registry.url",
            infra.registryUrl(),
            ArtifactRegistryConfig.PREFIX + ".url",
            registry.url(),
            ArtifactRegistryConfig.PREFIX + ".cache-dir",
            infra.newTempDirectory("serving-cache").toString());
    RuntimeException e =
        assertThrows(
            RuntimeException.class,
            () -> {
              try (ApplicationContext context = ApplicationContext.run(props, "test")) {
                context.getBean(dev.flywheel.serving.versions.ArtifactFetchers.class);
              }
            });
    Throwable cause = e;
    StringBuilder messages = new StringBuilder();
    while (cause != null) {
      messages.append(cause.getMessage()).append(" / ");
      cause = cause.getCause();
    }
    assertTrue(
        messages.toString().contains(ArtifactRegistryConfig.PREFIX + ".api-key"),
        messages.toString());
  }
}
