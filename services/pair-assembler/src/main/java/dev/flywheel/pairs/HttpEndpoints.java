package dev.flywheel.pairs;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.apache.kafka.streams.KafkaStreams;

/**
 * A small JDK HTTP server: {@code GET /health} (200 when the Streams client is RUNNING or REBALANCING,
 * else 503: readiness), {@code GET /health/live} (503 only once it has failed or stopped: liveness) and
 * {@code GET /metrics} (Prometheus text format).
 */
final class HttpEndpoints implements AutoCloseable {

  private final HttpServer server;

  HttpEndpoints(int port, Supplier<KafkaStreams.State> state, PrometheusMeterRegistry registry) throws IOException {
    server = HttpServer.create(new InetSocketAddress(port), 16);
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "pair-assembler-http");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/health/live", exchange -> {
      KafkaStreams.State s = state.get();
      boolean alive = s != KafkaStreams.State.ERROR && s != KafkaStreams.State.PENDING_ERROR
          && s != KafkaStreams.State.NOT_RUNNING && s != KafkaStreams.State.PENDING_SHUTDOWN;
      json(exchange, alive ? 200 : 503, s, alive);
    });
    server.createContext("/health", exchange -> {
      KafkaStreams.State s = state.get();
      boolean ready = s == KafkaStreams.State.RUNNING || s == KafkaStreams.State.REBALANCING;
      json(exchange, ready ? 200 : 503, s, ready);
    });
    server.createContext("/metrics", exchange ->
        send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  private static void json(HttpExchange exchange, int status, KafkaStreams.State state, boolean up) throws IOException {
    send(exchange, status, "application/json",
        "{\"status\":\"" + (up ? "UP" : "DOWN") + "\",\"state\":\"" + state + "\"}");
  }

  private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
