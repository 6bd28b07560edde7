package dev.flywheel.modelregistry.api;

import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.modelregistry.kafka.Materializer;
import dev.flywheel.modelregistry.state.Kinds;
import dev.flywheel.modelregistry.state.ModelState;
import dev.flywheel.modelregistry.state.VersionEntry;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Model versions, lineage, what is live, the control audit trail and the materializer's status. */
@Controller("/api")
public class VersionsController {

  private final ModelState state;
  private final Materializer materializer;

  public VersionsController(ModelState state, Materializer materializer) {
    this.state = state;
    this.materializer = materializer;
  }

  /** Every version of a kind, ascending by version number. */
  @Get("/versions/{kind}")
  public HttpResponse<?> list(@PathVariable String kind, @Nullable @QueryValue String status) {
    Optional<ModelKind> k = Kinds.parse(kind);
    if (k.isEmpty()) {
      return ApiErrors.notFound("unknown kind '" + kind + "' (policy or reward)");
    }
    List<Views.VersionView> versions =
        state.versions(k.get()).stream()
            .filter(e -> status == null || e.status().name().equalsIgnoreCase(status))
            .map(e -> Views.version(e, state))
            .toList();
    Map<String, Object> body = Views.obj();
    body.put("kind", Kinds.urlName(k.get()));
    body.put("caughtUp", materializer.caughtUp());
    body.put("count", versions.size());
    body.put("versions", versions);
    return HttpResponse.ok(body);
  }

  @Get("/versions/{kind}/{version}")
  public HttpResponse<?> get(@PathVariable String kind, @PathVariable long version) {
    Optional<ModelKind> k = Kinds.parse(kind);
    if (k.isEmpty()) {
      return ApiErrors.notFound("unknown kind '" + kind + "' (policy or reward)");
    }
    return state
        .version(k.get(), version)
        .<HttpResponse<?>>map(e -> HttpResponse.ok(Views.version(e, state)))
        .orElseGet(
            () ->
                ApiErrors.notFound(Kinds.urlName(k.get()) + " version " + version + " is unknown"));
  }

  /**
   * Lineage. For a policy: the reward model it optimised, that reward model's parent chain with the
   * comparison-data offset ranges each one was trained on, and the policy parents down to the SFT
   * root. For a reward model: its warm-start parent chain.
   */
  @Get("/versions/{kind}/{version}/lineage")
  public HttpResponse<?> lineage(@PathVariable String kind, @PathVariable long version) {
    Optional<ModelKind> k = Kinds.parse(kind);
    if (k.isEmpty()) {
      return ApiErrors.notFound("unknown kind '" + kind + "' (policy or reward)");
    }
    Optional<?> lineage =
        k.get() == ModelKind.POLICY
            ? Lineage.policy(state, version)
            : Lineage.reward(state, version);
    return lineage
        .<HttpResponse<?>>map(HttpResponse::ok)
        .orElseGet(
            () ->
                ApiErrors.notFound(Kinds.urlName(k.get()) + " version " + version + " is unknown"));
  }

  /** LIVE and CANDIDATE versions of both kinds, newest first. */
  @Get("/live")
  public Map<String, Object> live() {
    Map<String, Object> body = Views.obj();
    body.put("caughtUp", materializer.caughtUp());
    body.put("policy", liveOf(ModelKind.POLICY));
    body.put("reward", liveOf(ModelKind.REWARD));
    return body;
  }

  Map<String, Object> liveOf(ModelKind kind) {
    List<VersionEntry> all =
        state.versions(kind).stream()
            .sorted(Comparator.comparingLong(VersionEntry::version).reversed())
            .toList();
    Map<String, Object> out = Views.obj();
    out.put(
        "live",
        all.stream()
            .filter(e -> e.status() == ModelStatus.LIVE)
            .map(e -> Views.version(e, state))
            .toList());
    out.put(
        "candidates",
        all.stream()
            .filter(e -> e.status() == ModelStatus.CANDIDATE)
            .map(e -> Views.version(e, state))
            .toList());
    return out;
  }

  /** The promote/rollback audit trail from {@code models.control}, oldest first. */
  @Get("/control")
  public HttpResponse<?> control(
      @Nullable @QueryValue String kind, @Nullable @QueryValue Long version) {
    ModelKind k = null;
    if (kind != null) {
      Optional<ModelKind> parsed = Kinds.parse(kind);
      if (parsed.isEmpty()) {
        return ApiErrors.badRequest("unknown kind '" + kind + "' (policy or reward)");
      }
      k = parsed.get();
    }
    Map<String, Object> body = Views.obj();
    body.put("events", state.control(k, version).stream().map(Views::control).toList());
    return HttpResponse.ok(body);
  }

  /** Where the materializer is (replaying or caught up), and what it skipped. */
  @Get("/status")
  public Map<String, Object> status() {
    Map<String, Object> body = Views.obj();
    body.put("phase", materializer.phase().name());
    body.put("caughtUp", materializer.caughtUp());
    body.put("revision", state.revision());
    body.put("recordsApplied", materializer.appliedCount());
    body.put("recordsSkipped", materializer.skippedCount());
    body.put("replayRemaining", materializer.replayRemaining());
    body.put("replayTarget", materializer.replayTarget());
    body.put("positions", materializer.positions());
    body.put("policyVersions", state.count(ModelKind.POLICY));
    body.put("rewardVersions", state.count(ModelKind.REWARD));
    body.put("lastError", materializer.lastError());
    body.put(
        "skipped",
        materializer.skipped().stream()
            .map(
                s -> {
                  Map<String, Object> m = Views.obj();
                  m.put("topic", s.topic());
                  m.put("partition", s.partition());
                  m.put("offset", s.offset());
                  m.put("reason", s.reason());
                  m.put("at", Views.time(s.at()));
                  return m;
                })
            .toList());
    return body;
  }
}
