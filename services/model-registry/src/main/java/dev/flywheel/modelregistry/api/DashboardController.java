package dev.flywheel.modelregistry.api;

import dev.flywheel.events.ModelKind;
import dev.flywheel.modelregistry.kafka.Materializer;
import dev.flywheel.modelregistry.state.MetricsStore;
import dev.flywheel.modelregistry.state.ModelState;
import dev.flywheel.modelregistry.state.VersionEntry;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The dashboard: a static page ({@code /}, {@code /dashboard.js}, {@code /dashboard.css}) that
 * polls {@code /api/dashboard} every few seconds and draws inline SVG.
 *
 * <p>The figures it plots, by name, so that the trainers can match them:
 *
 * <ul>
 *   <li>reward-model held-out accuracy: {@code RewardModelVersion.metrics["eval_accuracy"]} per
 *       version, and TrainingMetrics {@code source=reward-trainer, phase=eval}, value {@code
 *       eval_accuracy} (or {@code accuracy});
 *   <li>the annotator-agreement ceiling: TrainingMetrics {@code phase=agreement} (from the pair
 *       assembler), value {@code agreement_rate};
 *   <li>PPO per round: TrainingMetrics {@code source=policy-trainer, phase=ppo}, values {@code
 *       mean_reward} and {@code kl}, averaged over the points of each (version, round);
 *   <li>pair throughput: TrainingMetrics {@code source=pair-assembler, phase=pairs}, value {@code
 *       pairs_per_s} (or {@code pairs_per_second}), else the rate derived from two consecutive
 *       cumulative counts {@code pairs_emitted} (or {@code pairs_total}).
 * </ul>
 */
@Controller
public class DashboardController {

  public static final String RM_EVAL_ACCURACY = "eval_accuracy";
  public static final String REWARD_TRAINER = "reward-trainer";
  public static final String PHASE_EVAL = "eval";
  public static final String PHASE_AGREEMENT = "agreement";
  public static final String AGREEMENT_RATE = "agreement_rate";
  public static final String POLICY_TRAINER = "policy-trainer";
  public static final String PHASE_PPO = "ppo";
  public static final String MEAN_REWARD = "mean_reward";
  public static final String KL = "kl";
  public static final String PAIR_ASSEMBLER = "pair-assembler";
  public static final String PHASE_PAIRS = "pairs";

  /** Pair rate figures, first present wins (the pair assembler publishes {@code pairs_per_s}). */
  public static final List<String> PAIRS_RATE_NAMES = List.of("pairs_per_s", "pairs_per_second");

  /** Cumulative pair counts a rate is derived from when no rate is published. */
  public static final List<String> PAIRS_TOTAL_NAMES = List.of("pairs_emitted", "pairs_total");

  static final int MAX_POINTS = 500;

  private final ModelState state;
  private final MetricsStore metrics;
  private final Materializer materializer;
  private final VersionsController versions;

  public DashboardController(
      ModelState state,
      MetricsStore metrics,
      Materializer materializer,
      VersionsController versions) {
    this.state = state;
    this.metrics = metrics;
    this.materializer = materializer;
    this.versions = versions;
  }

  @Get(produces = MediaType.TEXT_HTML)
  @ExecuteOn(TaskExecutors.BLOCKING)
  public HttpResponse<byte[]> index() {
    return resource("public/index.html", MediaType.TEXT_HTML + ";charset=utf-8");
  }

  @Get(uri = "/dashboard.js")
  @ExecuteOn(TaskExecutors.BLOCKING)
  public HttpResponse<byte[]> script() {
    return resource("public/dashboard.js", "text/javascript;charset=utf-8");
  }

  @Get(uri = "/dashboard.css")
  @ExecuteOn(TaskExecutors.BLOCKING)
  public HttpResponse<byte[]> style() {
    return resource("public/dashboard.css", "text/css;charset=utf-8");
  }

  /** Everything the page shows, in one poll. */
  @Get(uri = "/api/dashboard")
  @Produces(MediaType.APPLICATION_JSON)
  public Map<String, Object> dashboard() {
    Map<String, Object> body = Views.obj();
    body.put("generatedAt", Instant.now().toString());
    body.put("revision", state.revision());
    body.put("caughtUp", materializer.caughtUp());
    body.put("phase", materializer.phase().name());
    Map<String, Object> live = Views.obj();
    live.put("policy", versions.liveOf(ModelKind.POLICY));
    live.put("reward", versions.liveOf(ModelKind.REWARD));
    body.put("live", live);
    Map<String, Object> all = Views.obj();
    all.put(
        "policy",
        state.versions(ModelKind.POLICY).stream().map(e -> Views.version(e, state)).toList());
    all.put(
        "reward",
        state.versions(ModelKind.REWARD).stream().map(e -> Views.version(e, state)).toList());
    body.put("versions", all);
    body.put("charts", charts());
    List<Views.ControlView> control =
        state.control(null, null).stream().map(Views::control).toList();
    body.put("control", control.subList(Math.max(0, control.size() - 20), control.size()));
    return body;
  }

  Map<String, Object> charts() {
    Map<String, Object> charts = Views.obj();

    List<Map<String, Object>> rmAccuracy = new ArrayList<>();
    for (VersionEntry e : state.versions(ModelKind.REWARD)) {
      Double acc = e.metrics() == null ? null : Views.finite(e.metrics().get(RM_EVAL_ACCURACY));
      if (acc != null) {
        Instant t = e.createdAt() != null ? e.createdAt() : e.eventTime();
        rmAccuracy.add(point(t.toEpochMilli(), acc, e.version(), null, "RM v" + e.version()));
      }
    }
    charts.put("rm_accuracy", tail(rmAccuracy));

    List<Map<String, Object>> rmEval = new ArrayList<>();
    for (MetricsStore.Point p : metrics.query(REWARD_TRAINER, PHASE_EVAL, null, null, MAX_POINTS)) {
      Double v =
          Views.finite(p.values().getOrDefault(RM_EVAL_ACCURACY, p.values().get("accuracy")));
      if (v != null) {
        rmEval.add(
            point(p.t(), v, p.modelVersion(), p.round(), label(p.modelVersion(), p.round())));
      }
    }
    charts.put("rm_eval", rmEval);

    List<Map<String, Object>> agreement = new ArrayList<>();
    for (MetricsStore.Point p : metrics.query(null, PHASE_AGREEMENT, null, null, MAX_POINTS)) {
      Double v = Views.finite(p.values().get(AGREEMENT_RATE));
      if (v != null) {
        agreement.add(point(p.t(), v, p.modelVersion(), p.round(), p.source()));
      }
    }
    charts.put("agreement", agreement);

    List<Map<String, Object>> meanReward = new ArrayList<>();
    List<Map<String, Object>> kl = new ArrayList<>();
    for (MetricsStore.RoundAggregate a : metrics.rounds(POLICY_TRAINER, PHASE_PPO, null)) {
      Map<String, Double> mean = a.mean();
      String label = label(a.modelVersion(), a.round());
      Double r = Views.finite(mean.get(MEAN_REWARD));
      if (r != null) {
        meanReward.add(point(a.lastT(), r, a.modelVersion(), a.round(), label));
      }
      Double k = Views.finite(mean.get(KL));
      if (k != null) {
        kl.add(point(a.lastT(), k, a.modelVersion(), a.round(), label));
      }
    }
    charts.put("ppo_mean_reward", tail(meanReward));
    charts.put("ppo_kl", tail(kl));

    List<Map<String, Object>> throughput = new ArrayList<>();
    MetricsStore.Point previous = null;
    for (MetricsStore.Point p :
        metrics.query(PAIR_ASSEMBLER, PHASE_PAIRS, null, null, MAX_POINTS + 1)) {
      Double y = firstFinite(p.values(), PAIRS_RATE_NAMES);
      if (y == null && previous != null && p.t() > previous.t()) {
        for (String cumulative : PAIRS_TOTAL_NAMES) {
          Double now = p.values().get(cumulative);
          Double before = previous.values().get(cumulative);
          if (now != null && before != null) {
            y = Views.finite((now - before) / ((p.t() - previous.t()) / 1000.0));
            break;
          }
        }
      }
      previous = p;
      if (y != null) {
        throughput.add(point(p.t(), y, p.modelVersion(), p.round(), null));
      }
    }
    charts.put("pair_throughput", tail(throughput));
    return charts;
  }

  private static Double firstFinite(Map<String, Double> values, List<String> names) {
    for (String name : names) {
      Double v = Views.finite(values.get(name));
      if (v != null) {
        return v;
      }
    }
    return null;
  }

  private static Map<String, Object> point(
      long t, double y, Long version, Long round, String label) {
    Map<String, Object> m = Views.obj();
    m.put("x", t);
    m.put("y", y);
    m.put("version", version);
    m.put("round", round);
    m.put("label", label);
    return m;
  }

  private static String label(Long version, long round) {
    return (version == null ? "" : "v" + version + " ") + "round " + round;
  }

  private static List<Map<String, Object>> tail(List<Map<String, Object>> points) {
    return points.size() <= MAX_POINTS
        ? points
        : points.subList(points.size() - MAX_POINTS, points.size());
  }

  private static HttpResponse<byte[]> resource(String path, String contentType) {
    try (InputStream in = DashboardController.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        return HttpResponse.notFound();
      }
      return HttpResponse.ok(in.readAllBytes())
          .contentType(contentType)
          .header("Cache-Control", "no-cache");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
