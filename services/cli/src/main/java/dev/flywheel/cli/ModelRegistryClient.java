package dev.flywheel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** JSON over HTTP to the model registry service. */
final class ModelRegistryClient {

  static final ObjectMapper JSON = new ObjectMapper();

  private final String baseUrl;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  ModelRegistryClient(String baseUrl) {
    this.baseUrl = baseUrl;
  }

  JsonNode get(String path) {
    return send(
        HttpRequest.newBuilder(uri(path)).header("Accept", "application/json").GET(),
        "GET " + path);
  }

  JsonNode post(String path, String apiKey, ObjectNode body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(path))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    if (apiKey != null) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    return send(b, "POST " + path);
  }

  private URI uri(String path) {
    try {
      return URI.create(baseUrl + path);
    } catch (IllegalArgumentException e) {
      throw new CliException("bad model registry URL " + baseUrl + ": " + e.getMessage(), 2);
    }
  }

  private JsonNode send(HttpRequest.Builder request, String what) {
    HttpResponse<String> response;
    try {
      response =
          http.send(
              request.timeout(Duration.ofSeconds(60)).build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new CliException(
          "cannot reach the model registry at "
              + baseUrl
              + " (set --model-registry-url or "
              + FlywheelCli.ENV_MODEL_REGISTRY_URL
              + ")");
    } catch (IOException e) {
      throw new CliException(what + " failed: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
    JsonNode body;
    try {
      body =
          response.body() == null || response.body().isBlank()
              ? JSON.createObjectNode()
              : JSON.readTree(response.body());
    } catch (IOException e) {
      body = null;
    }
    int status = response.statusCode();
    if (status >= 200 && status < 300 && body != null) {
      return body;
    }
    String message =
        body != null && body.hasNonNull("message") ? body.get("message").asText() : response.body();
    throw new CliException(what + " -> HTTP " + status + ": " + message);
  }
}
