package dev.flywheel.gateway.api;

import dev.flywheel.gateway.GatewayConfig;
import dev.flywheel.gateway.GatewayMetrics;
import dev.flywheel.kit.http.ApiError;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Filter;
import io.micronaut.http.filter.HttpServerFilter;
import io.micronaut.http.filter.ServerFilterChain;
import io.micronaut.http.filter.ServerFilterPhase;
import io.micronaut.http.server.HttpServerConfiguration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * Bounds the request bodies the gateway holds at once. {@code micronaut.server.max-request-size}
 * bounds one body; nothing in Micronaut bounds how many are received and decoded concurrently, and
 * each costs up to a few times its size in heap (the parsed strings, the fingerprint, the encoded
 * records). A request reserves its {@code Content-Length} (a chunked one: the whole
 * max-request-size) before its body is read; when the reservations would exceed {@code
 * flywheel.gateway.max-in-flight-body-bytes} it gets 503 {@code overloaded} with {@code
 * Retry-After} instead. The reservation is returned when the answer is produced (or the request
 * fails or is abandoned). One request is always admitted when nothing else is in flight. Runs after
 * the API-key filter: unauthenticated requests never reserve anything.
 */
@Filter("/v1/**")
public class BodyBudgetFilter implements HttpServerFilter {

  private final long budget;
  private final long maxRequestSize;
  private final GatewayConfig config;
  private final GatewayMetrics metrics;
  private final AtomicLong inFlight = new AtomicLong();

  public BodyBudgetFilter(
      GatewayConfig config, GatewayMetrics metrics, HttpServerConfiguration server) {
    this.config = config;
    this.metrics = metrics;
    this.budget = config.getMaxInFlightBodyBytes();
    this.maxRequestSize = server.getMaxRequestSize();
  }

  @Override
  public int getOrder() {
    return ServerFilterPhase.SECURITY.after();
  }

  /** Bytes reserved by the requests in flight now. */
  public long inFlightBytes() {
    return inFlight.get();
  }

  @Override
  public Publisher<MutableHttpResponse<?>> doFilter(
      HttpRequest<?> request, ServerFilterChain chain) {
    long length = request.getContentLength();
    long size = length < 0 ? maxRequestSize : Math.min(length, maxRequestSize);
    if (size == 0) {
      return chain.proceed(request);
    }
    if (!reserve(size)) {
      metrics.rejected(kindOf(request), "overloaded");
      MutableHttpResponse<?> busy =
          HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE)
              .body(
                  ApiError.of(
                      "overloaded",
                      "the gateway is already receiving "
                          + budget
                          + " bytes of request bodies (flywheel.gateway.max-in-flight-body-bytes); retry later"))
              .header(
                  HttpHeaders.RETRY_AFTER,
                  Long.toString(Math.max(1, config.getRetryAfter().toSeconds())))
              .header(HttpHeaders.CONNECTION, "close");
      return Publishers.just(busy);
    }
    AtomicBoolean released = new AtomicBoolean();
    Runnable release =
        () -> {
          if (released.compareAndSet(false, true)) {
            inFlight.addAndGet(-size);
          }
        };
    try {
      return onTerminate(chain.proceed(request), release);
    } catch (RuntimeException e) {
      release.run();
      throw e;
    }
  }

  private boolean reserve(long size) {
    while (true) {
      long current = inFlight.get();
      if (current > 0 && current + size > budget) {
        return false;
      }
      if (inFlight.compareAndSet(current, current + size)) {
        return true;
      }
    }
  }

  private static String kindOf(HttpRequest<?> request) {
    String path = request.getPath();
    return path.contains("/transcripts")
        ? "transcript"
        : path.contains("/rankings")
            ? "ranking"
            : path.contains("/demonstrations") ? "demonstration" : "other";
  }

  /**
   * {@code source}, running {@code action} once on its first item, error, completion or
   * cancellation.
   */
  static <T> Publisher<T> onTerminate(Publisher<T> source, Runnable action) {
    return subscriber ->
        source.subscribe(
            new Subscriber<T>() {
              @Override
              public void onSubscribe(Subscription s) {
                subscriber.onSubscribe(
                    new Subscription() {
                      @Override
                      public void request(long n) {
                        s.request(n);
                      }

                      @Override
                      public void cancel() {
                        action.run();
                        s.cancel();
                      }
                    });
              }

              @Override
              public void onNext(T item) {
                action.run();
                subscriber.onNext(item);
              }

              @Override
              public void onError(Throwable t) {
                action.run();
                subscriber.onError(t);
              }

              @Override
              public void onComplete() {
                action.run();
                subscriber.onComplete();
              }
            });
  }
}
