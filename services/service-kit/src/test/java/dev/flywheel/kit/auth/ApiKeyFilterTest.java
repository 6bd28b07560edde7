package dev.flywheel.kit.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.runtime.server.EmbeddedServer;
import jakarta.inject.Singleton;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ApiKeyFilterTest {

  static final String WRITER_KEY = ApiKeys.generate();
  static final String ALL_KEY = ApiKeys.generate();
  static final String NONE_KEY = ApiKeys.generate();
  static ApplicationContext context;
  static URI base;
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final ObjectMapper JSON = new ObjectMapper();

  @Controller("/kit")
  @Requires(property = "kit-filter-test")
  static class ProtectedController {
    @Get("/write")
    @RequiresApiKey(scope = "things:write")
    String write(HttpRequest<?> request) {
      return ApiPrincipal.of(request).appId();
    }

    @Get("/open")
    String open() {
      return "open";
    }
  }

  /** Annotated on the class only: every method needs a key (any scope). */
  @Controller("/kit-class")
  @Requires(property = "kit-filter-test")
  @RequiresApiKey
  static class ClassProtectedController {
    @Get("/any")
    String any(HttpRequest<?> request) {
      return ApiPrincipal.of(request).appId();
    }
  }

  @Singleton
  @Requires(property = "kit-filter-test")
  static class Rejections implements ApplicationEventListener<ApiKeyRejected> {
    final List<ApiKeyRejected> seen = new CopyOnWriteArrayList<>();

    @Override
    public void onApplicationEvent(ApiKeyRejected event) {
      seen.add(event);
    }
  }

  @BeforeAll
  static void start() {
    context =
        ApplicationContext.run(
            Map.of(
                "kit-filter-test", true,
                "micronaut.server.port", -1,
                "flywheel.auth.apps.writer.key-hashes", List.of(ApiKeys.sha256Hex(WRITER_KEY)),
                "flywheel.auth.apps.writer.scopes", List.of("things:write"),
                "flywheel.auth.apps.admin.key-hashes", List.of(ApiKeys.sha256Hex(ALL_KEY)),
                "flywheel.auth.apps.admin.scopes", List.of("*"),
                "flywheel.auth.apps.nobody.key-hashes", List.of(ApiKeys.sha256Hex(NONE_KEY))));
    EmbeddedServer server = context.getBean(EmbeddedServer.class).start();
    base = URI.create("http://127.0.0.1:" + server.getPort());
  }

  @AfterAll
  static void stop() {
    context.close();
  }

  record Reply(int status, String body, HttpResponse<String> raw) {
    JsonNode json() throws Exception {
      return JSON.readTree(body);
    }
  }

  static Reply get(String path, String authorization) throws Exception {
    var b = java.net.http.HttpRequest.newBuilder(base.resolve(path)).GET();
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), r.body(), r);
  }

  @Test
  void knownKeyWithTheScopeResolvesTheApp() throws Exception {
    Reply r = get("/kit/write", "Bearer " + WRITER_KEY);
    assertEquals(200, r.status(), r.body());
    assertEquals("writer", r.body());
    assertEquals("admin", get("/kit/write", "bearer " + ALL_KEY).body());
  }

  @Test
  void missingKeyIs401WithAJsonBody() throws Exception {
    Reply r = get("/kit/write", null);
    assertEquals(401, r.status());
    assertEquals("unauthorized", r.json().get("error").asText());
    assertEquals(
        "Bearer realm=\"flywheel\"",
        r.raw().headers().firstValue("WWW-Authenticate").orElseThrow());
    assertEquals(401, get("/kit/write", "Basic " + WRITER_KEY).status());
    assertEquals(401, get("/kit/write", "Bearer ").status());
  }

  @Test
  void unknownKeyIs401() throws Exception {
    Reply r = get("/kit/write", "Bearer " + ApiKeys.generate());
    assertEquals(401, r.status());
    assertEquals("unknown API key", r.json().get("message").asText());
    assertTrue(
        r.raw().headers().firstValue("WWW-Authenticate").orElseThrow().contains("invalid_token"));
  }

  @Test
  void keyWithoutTheScopeIs403() throws Exception {
    Reply r = get("/kit/write", "Bearer " + NONE_KEY);
    assertEquals(403, r.status());
    assertEquals("forbidden", r.json().get("error").asText());
    assertTrue(
        r.json().get("message").asText().contains("'nobody' lacks scope 'things:write'"), r.body());
    Rejections rejections = context.getBean(Rejections.class);
    assertTrue(
        rejections.seen.stream()
            .anyMatch(e -> e.reason().equals("forbidden") && "nobody".equals(e.appId())));
  }

  @Test
  void classLevelAnnotationProtectsEveryMethod() throws Exception {
    assertEquals(401, get("/kit-class/any", null).status());
    assertEquals("nobody", get("/kit-class/any", "Bearer " + NONE_KEY).body());
  }

  @Test
  void unannotatedRoutesAndUnknownPathsPass() throws Exception {
    assertEquals("open", get("/kit/open", null).body());
    Reply missing = get("/kit/nothing-here", null);
    assertEquals(404, missing.status());
    assertEquals("not_found", missing.json().get("error").asText());
  }

  @Test
  void aPlaintextKeyInTheConfigurationFailsStartUp() {
    Exception e =
        assertThrows(
            Exception.class,
            () ->
                ApplicationContext.run(
                        Map.of("flywheel.auth.apps.oops.key-hashes", List.of(ApiKeys.generate())))
                    .close());
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    assertTrue(root.getMessage().contains("plaintext API key"), root.getMessage());
  }
}
