package dev.flywheel.modelregistry.state;

import dev.flywheel.events.TrainingMetrics;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Training figures from {@code training.metrics}, indexed by (source, phase). Keeps the most recent
 * {@code maxPointsPerSeries} raw points of each series and, separately, a per (model version,
 * round) aggregate (count, mean and last value of every figure) for the most recent {@code
 * maxRoundsPerSeries} rounds, so that per-round plots survive even when per-step points have been
 * evicted.
 */
@Singleton
public class MetricsStore {

  /** One TrainingMetrics event. {@code t} is the event time in epoch milliseconds. */
  public record Point(
      long t,
      String source,
      String phase,
      Long modelVersion,
      long round,
      long step,
      Map<String, Double> values,
      int partition,
      long offset) {}

  /** Identity of a series. */
  public record SeriesKey(String source, String phase) {}

  /** Per-round aggregate of a series. */
  public static final class RoundAggregate {
    private final Long modelVersion;
    private final long round;
    private long count;
    private long firstT = Long.MAX_VALUE;
    private long lastT = Long.MIN_VALUE;
    private long lastStep = Long.MIN_VALUE;
    private final Map<String, double[]> sums = new TreeMap<>(); // key -> {sum, n}
    private final Map<String, Double> last = new TreeMap<>();

    RoundAggregate(Long modelVersion, long round) {
      this.modelVersion = modelVersion;
      this.round = round;
    }

    void add(Point p) {
      count++;
      firstT = Math.min(firstT, p.t());
      boolean newest = p.t() > lastT || p.t() == lastT && p.step() >= lastStep;
      if (newest) {
        lastT = p.t();
        lastStep = p.step();
      }
      for (Map.Entry<String, Double> e : p.values().entrySet()) {
        Double v = e.getValue();
        if (v == null || !Double.isFinite(v)) {
          continue;
        }
        double[] s = sums.computeIfAbsent(e.getKey(), k -> new double[2]);
        s[0] += v;
        s[1] += 1;
        if (newest || !last.containsKey(e.getKey())) {
          last.put(e.getKey(), v);
        }
      }
    }

    public Long modelVersion() {
      return modelVersion;
    }

    public long round() {
      return round;
    }

    public long count() {
      return count;
    }

    public long firstT() {
      return firstT;
    }

    public long lastT() {
      return lastT;
    }

    public Map<String, Double> mean() {
      Map<String, Double> out = new TreeMap<>();
      sums.forEach((k, s) -> out.put(k, s[0] / s[1]));
      return out;
    }

    public Map<String, Double> last() {
      return new TreeMap<>(last);
    }
  }

  private record RoundKey(Long modelVersion, long round) {}

  private static final Comparator<RoundKey> ROUND_ORDER =
      Comparator.comparing(
              (RoundKey k) -> k.modelVersion() == null ? Long.MIN_VALUE : k.modelVersion())
          .thenComparingLong(RoundKey::round);

  private final int maxPointsPerSeries;
  private final int maxRoundsPerSeries;
  private final Map<SeriesKey, Deque<Point>> points = new HashMap<>();
  private final Map<SeriesKey, TreeMap<RoundKey, RoundAggregate>> rounds = new HashMap<>();
  private final Map<Integer, Long> lastOffsetByPartition = new HashMap<>();
  private long total;

  @Inject
  public MetricsStore(
      @Value("${flywheel.model-registry.metrics.max-points-per-series:5000}")
          int maxPointsPerSeries,
      @Value("${flywheel.model-registry.metrics.max-rounds-per-series:5000}")
          int maxRoundsPerSeries) {
    this.maxPointsPerSeries = maxPointsPerSeries;
    this.maxRoundsPerSeries = maxRoundsPerSeries;
  }

  public synchronized void apply(TrainingMetrics m, int partition, long offset) {
    Long seen = lastOffsetByPartition.get(partition);
    if (seen != null && offset <= seen) {
      return;
    }
    lastOffsetByPartition.put(partition, offset);
    Map<String, Double> values = new TreeMap<>();
    if (m.getValues() != null) {
      m.getValues().forEach((k, v) -> values.put(k, v));
    }
    Instant time = m.getEventTime();
    Point p =
        new Point(
            time == null ? 0 : time.toEpochMilli(),
            m.getSource(),
            m.getPhase(),
            m.getModelVersion(),
            m.getRound(),
            m.getStep(),
            Map.copyOf(values),
            partition,
            offset);
    SeriesKey key = new SeriesKey(p.source(), p.phase());
    Deque<Point> series = points.computeIfAbsent(key, k -> new ArrayDeque<>());
    series.addLast(p);
    while (series.size() > maxPointsPerSeries) {
      series.removeFirst();
    }
    TreeMap<RoundKey, RoundAggregate> agg =
        rounds.computeIfAbsent(key, k -> new TreeMap<>(ROUND_ORDER));
    agg.computeIfAbsent(
            new RoundKey(p.modelVersion(), p.round()),
            k -> new RoundAggregate(k.modelVersion(), k.round()))
        .add(p);
    while (agg.size() > maxRoundsPerSeries) {
      agg.pollFirstEntry();
    }
    total++;
  }

  /**
   * Points matching the filters (null = any), ordered by event time (then by offset), at most
   * {@code limit} of the most recent ones.
   */
  public synchronized List<Point> query(
      String source, String phase, Long version, Long sinceMillis, int limit) {
    List<Point> out = new ArrayList<>();
    for (Map.Entry<SeriesKey, Deque<Point>> e : points.entrySet()) {
      if (!matches(e.getKey(), source, phase)) {
        continue;
      }
      for (Point p : e.getValue()) {
        if ((version == null || Objects.equals(p.modelVersion(), version))
            && (sinceMillis == null || p.t() >= sinceMillis)) {
          out.add(p);
        }
      }
    }
    out.sort(
        Comparator.comparingLong(Point::t)
            .thenComparingInt(Point::partition)
            .thenComparingLong(Point::offset));
    if (limit > 0 && out.size() > limit) {
      return new ArrayList<>(out.subList(out.size() - limit, out.size()));
    }
    return out;
  }

  /** Per-round aggregates matching the filters, ordered by (model version, round). */
  public synchronized List<RoundAggregate> rounds(String source, String phase, Long version) {
    List<RoundAggregate> out = new ArrayList<>();
    for (Map.Entry<SeriesKey, TreeMap<RoundKey, RoundAggregate>> e : rounds.entrySet()) {
      if (!matches(e.getKey(), source, phase)) {
        continue;
      }
      for (RoundAggregate a : e.getValue().values()) {
        if (version == null || Objects.equals(a.modelVersion(), version)) {
          out.add(a);
        }
      }
    }
    out.sort(
        Comparator.comparingLong(RoundAggregate::lastT)
            .thenComparing(a -> a.modelVersion() == null ? Long.MIN_VALUE : a.modelVersion())
            .thenComparingLong(RoundAggregate::round));
    return out;
  }

  /** Every series seen: (source, phase) → number of points held and the figure names seen. */
  public synchronized Map<SeriesKey, Map.Entry<Integer, List<String>>> catalogue() {
    Map<SeriesKey, Map.Entry<Integer, List<String>>> out = new LinkedHashMap<>();
    points.entrySet().stream()
        .sorted(
            Comparator.comparing((Map.Entry<SeriesKey, Deque<Point>> e) -> e.getKey().source())
                .thenComparing(e -> e.getKey().phase()))
        .forEach(
            e -> {
              TreeSet<String> names = new TreeSet<>();
              for (Iterator<Point> it = e.getValue().iterator(); it.hasNext(); ) {
                names.addAll(it.next().values().keySet());
              }
              out.put(e.getKey(), Map.entry(e.getValue().size(), List.copyOf(names)));
            });
    return out;
  }

  public synchronized long total() {
    return total;
  }

  private static boolean matches(SeriesKey key, String source, String phase) {
    return (source == null || source.equals(key.source()))
        && (phase == null || phase.equals(key.phase()));
  }
}
