package dev.flywheel.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * JSON over HTTP with the retry rules every simulator client shares: 429, 502, 503, 504 and
 * connection failures are retried up to {@link RetryPolicy#maxAttempts} times, waiting {@code
 * Retry-After} when the server sends it (seconds or an HTTP date, capped at {@link
 * RetryPolicy#maxRetryAfter}), else an exponential backoff with jitter. Every other status of 400
 * or more fails at once. Callers that retry requests must make them idempotent (event ids).
 */
final class HttpJson {

  static final ObjectMapper JSON = new ObjectMapper();

  /**
   * @param maxAttempts attempts per request, the first one included
   * @param baseDelay first backoff (doubling each retry)
   * @param maxDelay longest backoff
   * @param maxRetryAfter longest wait honoured from a Retry-After header
   */
  record RetryPolicy(
      int maxAttempts, Duration baseDelay, Duration maxDelay, Duration maxRetryAfter) {
    static final RetryPolicy DEFAULT =
        new RetryPolicy(6, Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofSeconds(30));
  }

  /** How a client waits; tests replace it to run without sleeping. */
  interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;

    Sleeper REAL = d -> Thread.sleep(Math.max(0, d.toMillis()));
  }

  /** A successful (2xx) answer. */
  record Reply(int status, JsonNode body, HttpHeaders headers) {}

  /** A non-2xx answer (after retries, when retryable), with what the server said. */
  static final class HttpFailure extends IOException {
    private final int status;
    private final String body;
    private final Duration retryAfter;

    HttpFailure(String request, int status, String body, Duration retryAfter) {
      super(request + " -> " + status + ": " + abbreviate(body));
      this.status = status;
      this.body = body;
      this.retryAfter = retryAfter;
    }

    int status() {
      return status;
    }

    String body() {
      return body;
    }

    /** The server's Retry-After, if it sent one. */
    Optional<Duration> retryAfter() {
      return Optional.ofNullable(retryAfter);
    }

    private static String abbreviate(String s) {
      return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }
  }

  private final HttpClient client;
  private final Duration requestTimeout;
  private final RetryPolicy retry;
  private final Sleeper sleeper;
  private final AtomicLong retries = new AtomicLong();
  private final SplittableRandom jitter = new SplittableRandom(7);

  HttpJson(HttpClient client, Duration requestTimeout, RetryPolicy retry, Sleeper sleeper) {
    this.client = client;
    this.requestTimeout = requestTimeout;
    this.retry = retry;
    this.sleeper = sleeper;
  }

  static HttpJson create(Duration requestTimeout, RetryPolicy retry) {
    HttpClient client =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    return new HttpJson(client, requestTimeout, retry, Sleeper.REAL);
  }

  /** Retries done so far (all requests together). */
  long retries() {
    return retries.get();
  }

  Reply get(URI uri, String bearer) throws IOException, InterruptedException {
    return send("GET", uri, bearer, null);
  }

  Reply post(URI uri, String bearer, JsonNode body) throws IOException, InterruptedException {
    return send("POST", uri, bearer, body);
  }

  private Reply send(String method, URI uri, String bearer, JsonNode body)
      throws IOException, InterruptedException {
    String what = method + " " + uri;
    byte[] payload = body == null ? null : JSON.writeValueAsBytes(body);
    for (int attempt = 1; ; attempt++) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri).timeout(requestTimeout).header("Accept", "application/json");
      if (bearer != null && !bearer.isBlank()) {
        request.header("Authorization", "Bearer " + bearer);
      }
      if (payload != null) {
        request
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(payload));
      } else {
        request.GET();
      }
      boolean last = attempt >= retry.maxAttempts();
      HttpResponse<byte[]> response;
      try {
        response = client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (IOException e) { // connection refused or reset, timeout
        if (last) {
          throw new IOException(what + " failed after " + attempt + " attempts: " + e, e);
        }
        pause(attempt, null);
        continue;
      }
      int status = response.statusCode();
      String text = new String(response.body(), StandardCharsets.UTF_8);
      if (status >= 200 && status < 300) {
        JsonNode json = text.isBlank() ? MissingNode.getInstance() : JSON.readTree(text);
        return new Reply(status, json, response.headers());
      }
      Duration retryAfter = retryAfter(response.headers()).orElse(null);
      if (!retryable(status) || last) {
        throw new HttpFailure(what, status, text, retryAfter);
      }
      pause(attempt, retryAfter);
    }
  }

  static boolean retryable(int status) {
    return status == 429 || status == 502 || status == 503 || status == 504;
  }

  private void pause(int attempt, Duration retryAfter) throws InterruptedException {
    retries.incrementAndGet();
    Duration wait;
    if (retryAfter != null) {
      wait = retryAfter.compareTo(retry.maxRetryAfter()) > 0 ? retry.maxRetryAfter() : retryAfter;
    } else {
      long base = retry.baseDelay().toMillis() << Math.min(20, attempt - 1);
      long capped = Math.min(base, retry.maxDelay().toMillis());
      double factor;
      synchronized (jitter) {
        factor = 0.8 + 0.4 * jitter.nextDouble();
      }
      wait = Duration.ofMillis((long) (capped * factor));
    }
    sleeper.sleep(wait);
  }

  /** Retry-After as delay-seconds or an HTTP date (RFC 1123); absent or unparseable: empty. */
  static Optional<Duration> retryAfter(HttpHeaders headers) {
    Optional<String> value = headers.firstValue("Retry-After").map(String::trim);
    if (value.isEmpty() || value.get().isEmpty()) {
      return Optional.empty();
    }
    String v = value.get();
    try {
      return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(v))));
    } catch (NumberFormatException notSeconds) {
      try {
        ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
        Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
      } catch (DateTimeParseException notADate) {
        return Optional.empty();
      }
    }
  }
}
