package dev.flywheel.modelregistry.api;

import dev.flywheel.modelregistry.state.MetricsStore;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Training figures from {@code training.metrics}, for plotting. */
@Controller("/api/metrics")
public class MetricsController {

  private final MetricsStore metrics;
  private final int defaultLimit;
  private final int maxLimit;

  /**
   * @param defaultLimit points answered when the request gives no {@code limit}
   * @param maxLimit largest {@code limit} a request may give (400 beyond)
   */
  public MetricsController(
      MetricsStore metrics,
      @Value("${flywheel.model-registry.metrics.default-limit:5000}") int defaultLimit,
      @Value("${flywheel.model-registry.metrics.max-limit:20000}") int maxLimit) {
    if (maxLimit < 1 || defaultLimit < 1 || defaultLimit > maxLimit) {
      throw new IllegalArgumentException(
          "flywheel.model-registry.metrics: need 1 <= default-limit ("
              + defaultLimit
              + ") <= max-limit ("
              + maxLimit
              + ")");
    }
    this.metrics = metrics;
    this.defaultLimit = defaultLimit;
    this.maxLimit = maxLimit;
  }

  /**
   * Time-ordered points. Filters: {@code source} (e.g. policy-trainer), {@code phase} (e.g. ppo),
   * {@code version} (model version), {@code since} (epoch millis), {@code limit} (most recent N, 1
   * to {@code max-limit}, default {@code default-limit}; anything else is a 400 naming {@code
   * limit}).
   */
  @Get
  public HttpResponse<?> points(
      @Nullable @QueryValue String source,
      @Nullable @QueryValue String phase,
      @Nullable @QueryValue Long version,
      @Nullable @QueryValue Long since,
      @Nullable @QueryValue String limit) {
    int n;
    if (limit == null || limit.isBlank()) {
      n = defaultLimit;
    } else {
      long parsed;
      try {
        parsed = Long.parseLong(limit.strip());
      } catch (NumberFormatException e) {
        parsed = Long.MIN_VALUE;
      }
      if (parsed < 1 || parsed > maxLimit) {
        return ApiErrors.invalid(
            "invalid_value",
            "limit",
            "limit must be an integer from 1 to "
                + maxLimit
                + " (flywheel.model-registry.metrics.max-limit); got "
                + (limit.length() > 32 ? limit.substring(0, 32) + "..." : limit));
      }
      n = (int) parsed;
    }
    List<MetricsStore.Point> points = metrics.query(blank(source), blank(phase), version, since, n);
    Map<String, Object> body = Views.obj();
    body.put("count", points.size());
    body.put("points", points.stream().map(MetricsController::point).toList());
    return HttpResponse.ok(body);
  }

  /**
   * One aggregate per (model version, training round): count, mean and last value of each figure.
   */
  @Get("/rounds")
  public Map<String, Object> rounds(
      @Nullable @QueryValue String source,
      @Nullable @QueryValue String phase,
      @Nullable @QueryValue Long version) {
    List<MetricsStore.RoundAggregate> rounds = metrics.rounds(blank(source), blank(phase), version);
    Map<String, Object> body = Views.obj();
    body.put("count", rounds.size());
    body.put("rounds", rounds.stream().map(MetricsController::round).toList());
    return body;
  }

  /** The series present: source, phase, number of points held, figure names. */
  @Get("/series")
  public Map<String, Object> series() {
    Map<String, Object> body = Views.obj();
    body.put(
        "series",
        metrics.catalogue().entrySet().stream()
            .map(
                e -> {
                  Map<String, Object> m = Views.obj();
                  m.put("source", e.getKey().source());
                  m.put("phase", e.getKey().phase());
                  m.put("points", e.getValue().getKey());
                  m.put("values", e.getValue().getValue());
                  return m;
                })
            .toList());
    return body;
  }

  static Map<String, Object> point(MetricsStore.Point p) {
    Map<String, Object> m = Views.obj();
    m.put("t", p.t());
    m.put("time", Instant.ofEpochMilli(p.t()).toString());
    m.put("source", p.source());
    m.put("phase", p.phase());
    m.put("modelVersion", p.modelVersion());
    m.put("round", p.round());
    m.put("step", p.step());
    m.put("values", Views.finiteMap(p.values()));
    return m;
  }

  static Map<String, Object> round(MetricsStore.RoundAggregate a) {
    Map<String, Object> m = Views.obj();
    m.put("modelVersion", a.modelVersion());
    m.put("round", a.round());
    m.put("count", a.count());
    m.put("t", a.lastT());
    m.put("firstTime", Instant.ofEpochMilli(a.firstT()).toString());
    m.put("lastTime", Instant.ofEpochMilli(a.lastT()).toString());
    m.put("mean", Views.finiteMap(a.mean()));
    m.put("last", Views.finiteMap(a.last()));
    return m;
  }

  private static String blank(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
