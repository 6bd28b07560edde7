package dev.flywheel.modelregistry.api;

import dev.flywheel.events.ModelControl;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.modelregistry.state.Kinds;
import dev.flywheel.modelregistry.state.ModelState;
import dev.flywheel.modelregistry.state.VersionEntry;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The JSON shapes of the API. Times are ISO-8601 strings; non-finite numbers become null. */
public final class Views {

  private Views() {}

  /** One model version, either kind. Kind-specific fields are null for the other kind. */
  @Serdeable
  public record VersionView(
      String kind,
      long version,
      String status,
      String stage,
      Long parentVersion,
      List<Long> parentVersions,
      Long rewardModelVersion,
      String createdAt,
      String eventTime,
      String firstSeen,
      String artifactUri,
      String artifactSha256,
      String artifactUrl,
      Double rewardOffset,
      Map<String, Double> metrics,
      Map<String, String> hyperparameters,
      List<OffsetRangeView> trainingData,
      List<StatusChangeView> history,
      ControlView lastControl) {}

  @Serdeable
  public record OffsetRangeView(
      String topic, int partition, long fromOffset, long untilOffset, long records) {}

  @Serdeable
  public record StatusChangeView(String status, String eventTime, long offset) {}

  @Serdeable
  public record ControlView(
      String eventId,
      String eventTime,
      String kind,
      String action,
      long version,
      String requestedBy,
      String reason,
      int partition,
      long offset) {}

  public static VersionView version(VersionEntry e, ModelState state) {
    String kind = Kinds.urlName(e.kind());
    List<OffsetRangeView> ranges = new ArrayList<>();
    for (OffsetRange r : e.trainingData()) {
      ranges.add(
          new OffsetRangeView(
              r.getTopic(),
              r.getPartition(),
              r.getFromOffset(),
              r.getUntilOffset(),
              Math.max(0, r.getUntilOffset() - r.getFromOffset())));
    }
    List<StatusChangeView> history =
        e.history().stream()
            .map(h -> new StatusChangeView(h.status().name(), time(h.eventTime()), h.offset()))
            .toList();
    ControlView last =
        state == null
            ? null
            : state.lastControl(e.kind(), e.version()).map(Views::control).orElse(null);
    return new VersionView(
        kind,
        e.version(),
        e.status().name(),
        e.stage() == null ? null : e.stage().name(),
        e.parentVersion(),
        e.kind() == dev.flywheel.events.ModelKind.POLICY ? List.copyOf(e.parentVersions()) : null,
        e.rewardModelVersion(),
        time(e.createdAt()),
        time(e.eventTime()),
        time(e.firstSeen()),
        e.artifactUri(),
        e.artifactSha256(),
        "/api/artifacts/" + kind + "/" + e.version(),
        finite(e.rewardOffset()),
        finiteMap(e.metrics()),
        e.hyperparameters() == null ? Map.of() : new TreeMap<>(e.hyperparameters()),
        ranges,
        history,
        last);
  }

  public static ControlView control(ModelState.ControlEntry c) {
    ModelControl m = c.event();
    return new ControlView(
        m.getEventId(),
        time(m.getEventTime()),
        Kinds.urlName(m.getModelKind()),
        m.getAction().name(),
        m.getVersion(),
        m.getRequestedBy(),
        m.getReason(),
        c.partition(),
        c.offset());
  }

  public static String time(Instant t) {
    return t == null ? null : t.toString();
  }

  public static Double finite(Double d) {
    return d == null || !Double.isFinite(d) ? null : d;
  }

  public static Map<String, Double> finiteMap(Map<String, Double> in) {
    Map<String, Double> out = new TreeMap<>();
    if (in != null) {
      in.forEach((k, v) -> out.put(k, finite(v)));
    }
    return out;
  }

  /** A map that keeps insertion order, for hand-built JSON objects. */
  public static Map<String, Object> obj() {
    return new LinkedHashMap<>();
  }
}
