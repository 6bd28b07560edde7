package dev.flywheel.trainerkit;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Progress lines for a training loop, at most one per {@code interval} (plus the last step):
 *
 * <pre>
 *   reward round 3/∞ step 40/120 (33%) loss 0.5312 accuracy 0.7100 | 41.2 steps/s, ETA 2s
 * </pre>
 *
 * Rates and the ETA come from wall time since {@link #TrainingProgress creation}. Not thread-safe.
 */
public final class TrainingProgress {

  private final String label;
  private final long round;
  private final long totalRounds;
  private final long totalSteps;
  private final long intervalNanos;
  private final Consumer<String> sink;
  private final LongSupplier clock;
  private final long start;
  private long lastLogged = Long.MIN_VALUE;
  private long lastStep;

  /**
   * @param label what is trained ({@code reward}, {@code ppo}, ...)
   * @param round current round
   * @param totalRounds rounds planned, or 0 for open-ended (continuous) training
   * @param totalSteps optimizer steps planned this round (0 if unknown: no ETA)
   * @param interval least time between two lines
   * @param sink where lines go ({@code log::info})
   * @param clock nanosecond clock ({@code System::nanoTime})
   */
  public TrainingProgress(
      String label,
      long round,
      long totalRounds,
      long totalSteps,
      Duration interval,
      Consumer<String> sink,
      LongSupplier clock) {
    this.label = Objects.requireNonNull(label, "label");
    this.round = round;
    this.totalRounds = totalRounds;
    this.totalSteps = totalSteps;
    this.intervalNanos = interval.toNanos();
    this.sink = Objects.requireNonNull(sink, "sink");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.start = clock.getAsLong();
  }

  /** Logs at INFO on {@code log}, with the system clock. */
  public static TrainingProgress start(
      Logger log, String label, long round, long totalRounds, long totalSteps, Duration interval) {
    return new TrainingProgress(
        label, round, totalRounds, totalSteps, interval, log::info, System::nanoTime);
  }

  /**
   * Reports step {@code step} (1-based) with its loss and any other figures; emits a line if the
   * interval has passed or this is the last planned step.
   *
   * @return the line emitted, or null
   */
  public String step(long step, double loss, Map<String, ? extends Number> extra) {
    lastStep = step;
    long now = clock.getAsLong();
    boolean last = totalSteps > 0 && step >= totalSteps;
    if (!last && lastLogged != Long.MIN_VALUE && now - lastLogged < intervalNanos) {
      return null;
    }
    lastLogged = now;
    String line = line(step, loss, extra, now);
    sink.accept(line);
    return line;
  }

  /** Optimizer steps per second since creation, up to the last reported step. */
  public double stepsPerSecond() {
    double seconds = (clock.getAsLong() - start) / 1e9;
    return seconds <= 0 ? 0 : lastStep / seconds;
  }

  /** Estimated time to {@code totalSteps}, or null when unknown. */
  public Duration eta() {
    double rate = stepsPerSecond();
    if (totalSteps <= 0 || rate <= 0) {
      return null;
    }
    return Duration.ofMillis((long) (Math.max(0, totalSteps - lastStep) / rate * 1000));
  }

  private String line(long step, double loss, Map<String, ? extends Number> extra, long now) {
    StringBuilder sb =
        new StringBuilder(label)
            .append(" round ")
            .append(round)
            .append('/')
            .append(totalRounds > 0 ? Long.toString(totalRounds) : "∞")
            .append(" step ")
            .append(step);
    if (totalSteps > 0) {
      sb.append('/')
          .append(totalSteps)
          .append(" (")
          .append(Math.round(100.0 * step / totalSteps))
          .append("%)");
    }
    sb.append(String.format(Locale.ROOT, " loss %.4f", loss));
    if (extra != null) {
      extra.forEach((k, v) -> sb.append(' ').append(k).append(' ').append(format(v)));
    }
    double seconds = (now - start) / 1e9;
    double rate = seconds <= 0 ? 0 : step / seconds;
    sb.append(String.format(Locale.ROOT, " | %.1f steps/s", rate));
    Duration eta = eta();
    if (eta != null) {
      sb.append(", ETA ").append(human(eta));
    }
    return sb.toString();
  }

  private static String format(Number v) {
    if (v instanceof Integer || v instanceof Long) {
      return v.toString();
    }
    return String.format(Locale.ROOT, "%.4f", v.doubleValue());
  }

  static String human(Duration d) {
    long s = d.toSeconds();
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
    }
    return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
  }
}
