package dev.flywheel.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A switchable HTTP proxy in front of the test schema registry, for outage tests: while {@link
 * #setAvailable available} it forwards every request to the real registry; otherwise it answers 503
 * as a registry that is down would, without touching the registry every other test shares.
 */
public final class RegistryProxy implements AutoCloseable {

  private final HttpServer server;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String target;
  private final AtomicBoolean available = new AtomicBoolean(true);
  private final AtomicLong refused = new AtomicLong();

  /**
   * @param targetUrl the real registry's base URL (as {@link FlywheelInfra#registryUrl()} gives it)
   */
  public RegistryProxy(String targetUrl) throws IOException {
    this.target =
        targetUrl.endsWith("/") ? targetUrl.substring(0, targetUrl.length() - 1) : targetUrl;
    String path = URI.create(target).getRawPath();
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    this.basePath = path == null ? "" : path;
  }

  private final String basePath;

  /** The proxy's base URL, with the same path as the target's. */
  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + basePath;
  }

  public void setAvailable(boolean value) {
    available.set(value);
  }

  /** Requests answered 503 while unavailable. */
  public long refused() {
    return refused.get();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!available.get()) {
        refused.incrementAndGet();
        byte[] body =
            "{\"error_code\":50301,\"message\":\"registry unavailable (test outage)\"}".getBytes();
        exchange.sendResponseHeaders(503, body.length);
        exchange.getResponseBody().write(body);
        return;
      }
      String uri = exchange.getRequestURI().toString();
      String suffix = uri.startsWith(basePath) ? uri.substring(basePath.length()) : uri;
      byte[] requestBody;
      try (InputStream in = exchange.getRequestBody()) {
        requestBody = in.readAllBytes();
      }
      HttpRequest.Builder forward =
          HttpRequest.newBuilder(URI.create(target + suffix))
              .timeout(Duration.ofSeconds(10))
              .method(
                  exchange.getRequestMethod(),
                  requestBody.length == 0
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofByteArray(requestBody));
      String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
      if (contentType != null) {
        forward.header("Content-Type", contentType);
      }
      HttpResponse<byte[]> response;
      try {
        response = http.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exchange.sendResponseHeaders(503, -1);
        return;
      }
      response
          .headers()
          .firstValue("Content-Type")
          .ifPresent(v -> exchange.getResponseHeaders().set("Content-Type", v));
      byte[] body = response.body();
      exchange.sendResponseHeaders(response.statusCode(), body.length == 0 ? -1 : body.length);
      if (body.length > 0) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
