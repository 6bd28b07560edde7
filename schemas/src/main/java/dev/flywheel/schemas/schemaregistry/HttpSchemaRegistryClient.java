package dev.flywheel.schemas.schemaregistry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * The {@link SchemaRegistryClient} of the services: a small client for the Confluent Schema
 * Registry REST API (v7), the subset producers and consumers need. Works against Confluent Schema
 * Registry, Apicurio's {@code /apis/ccompat/v7}, Karapace and Redpanda. Schemas by id and ids by
 * (subject, schema) are cached: ids are immutable. Thread-safe.
 */
public final class HttpSchemaRegistryClient implements SchemaRegistryClient {

  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String baseUrl;
  private final HttpClient http;
  private final Duration requestTimeout;
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();

  public HttpSchemaRegistryClient(String baseUrl) {
    this(baseUrl, Duration.ofSeconds(10));
  }

  public HttpSchemaRegistryClient(String baseUrl, Duration requestTimeout) {
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.requestTimeout = requestTimeout;
    this.http = HttpClient.newBuilder().connectTimeout(requestTimeout).build();
  }

  @Override
  public String baseUrl() {
    return baseUrl;
  }

  @Override
  public int register(String subject, Schema schema) {
    Integer cached = cachedId(subject, schema);
    if (cached != null) {
      return cached;
    }
    JsonNode body =
        send("POST", "/subjects/" + enc(subject) + "/versions", schemaBody(schema), subject);
    int id = body.path("id").asInt(-1);
    if (id < 0) {
      throw new SchemaRegistryException("registry answered without an id: " + body, 200, -1);
    }
    remember(subject, schema, id);
    return id;
  }

  @Override
  public Optional<Integer> lookup(String subject, Schema schema) {
    Integer cached = cachedId(subject, schema);
    if (cached != null) {
      return Optional.of(cached);
    }
    try {
      JsonNode body = send("POST", "/subjects/" + enc(subject), schemaBody(schema), subject);
      int id = body.path("id").asInt();
      remember(subject, schema, id);
      return Optional.of(id);
    } catch (SchemaRegistryException e) {
      if (e.isNotFound()) {
        return Optional.empty();
      }
      throw e;
    }
  }

  @Override
  public Schema schemaById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode body = send("GET", "/schemas/ids/" + id, null, null);
    String type = body.path("schemaType").asText("AVRO");
    if (!"AVRO".equalsIgnoreCase(type)) {
      throw new SchemaRegistryException("schema id " + id + " is " + type + ", not AVRO", 200, -1);
    }
    Schema schema = new Schema.Parser().parse(body.path("schema").asText());
    schemasById.putIfAbsent(id, schema);
    return schema;
  }

  @Override
  public CompatibilityResult testCompatibility(String subject, Schema schema) {
    try {
      JsonNode body =
          send(
              "POST",
              "/compatibility/subjects/" + enc(subject) + "/versions/latest?verbose=true",
              schemaBody(schema),
              subject);
      List<String> messages = new ArrayList<>();
      body.path("messages").forEach(m -> messages.add(m.asText()));
      return new CompatibilityResult(body.path("is_compatible").asBoolean(false), messages);
    } catch (SchemaRegistryException e) {
      if (e.isNotFound()) {
        return new CompatibilityResult(true, List.of("subject has no versions yet"));
      }
      throw e;
    }
  }

  /** The subject's own compatibility level, if one is set. */
  public Optional<String> compatibilityLevel(String subject) {
    try {
      JsonNode body = send("GET", "/config/" + enc(subject), null, subject);
      return Optional.ofNullable(level(body));
    } catch (SchemaRegistryException e) {
      if (e.isNotFound()) {
        return Optional.empty();
      }
      throw e;
    }
  }

  public String globalCompatibilityLevel() {
    return level(send("GET", "/config", null, null));
  }

  /** Sets the compatibility level (BACKWARD, FORWARD, FULL, NONE, *_TRANSITIVE) of a subject. */
  public void setCompatibilityLevel(String subject, String level) {
    ObjectNode body = JSON.createObjectNode().put("compatibility", level);
    send("PUT", "/config/" + enc(subject), body.toString(), subject);
  }

  public List<String> subjects() {
    List<String> out = new ArrayList<>();
    send("GET", "/subjects", null, null).forEach(s -> out.add(s.asText()));
    return out;
  }

  @Override
  public List<Integer> versions(String subject) {
    List<Integer> out = new ArrayList<>();
    send("GET", "/subjects/" + enc(subject) + "/versions", null, subject)
        .forEach(v -> out.add(v.asInt()));
    return out;
  }

  private static String level(JsonNode body) {
    JsonNode level =
        body.has("compatibilityLevel") ? body.get("compatibilityLevel") : body.get("compatibility");
    return level == null || level.isNull() ? null : level.asText();
  }

  private Integer cachedId(String subject, Schema schema) {
    Map<Schema, Integer> ids = idsBySubject.get(subject);
    return ids == null ? null : ids.get(schema);
  }

  private void remember(String subject, Schema schema, int id) {
    idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(schema, id);
    schemasById.putIfAbsent(id, schema);
  }

  private static String schemaBody(Schema schema) {
    return JSON.createObjectNode()
        .put("schema", schema.toString())
        .put("schemaType", "AVRO")
        .toString();
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private JsonNode send(String method, String path, String body, String subject) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(requestTimeout)
            .header("Accept", CONTENT_TYPE + ", application/json");
    if (body != null) {
      request.header("Content-Type", CONTENT_TYPE);
      request.method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new SchemaRegistryException(
          "schema registry at " + baseUrl + " is unreachable (" + method + " " + path + "): " + e,
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SchemaRegistryException(
          "interrupted calling schema registry " + method + " " + path, e);
    }
    JsonNode json = parse(response.body());
    int status = response.statusCode();
    if (status >= 200 && status < 300) {
      return json;
    }
    int errorCode = json.path("error_code").asInt(-1);
    String message = json.path("message").asText(response.body());
    if (status == 409 && subject != null) {
      throw new IncompatibleSchemaException(subject, message, errorCode);
    }
    throw new SchemaRegistryException(
        "schema registry " + method + " " + path + " failed: HTTP " + status + " " + message,
        status,
        errorCode);
  }

  private static JsonNode parse(String body) {
    if (body == null || body.isBlank()) {
      return JSON.createObjectNode();
    }
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      return JSON.createObjectNode().put("message", body);
    }
  }
}
