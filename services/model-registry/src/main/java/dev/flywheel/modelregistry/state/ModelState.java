package dev.flywheel.modelregistry.state;

import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The materialised view of {@code models.policy.versions}, {@code models.reward.versions} and
 * {@code models.control}: the latest event per version (a later record with the same version
 * replaces the earlier one, so CANDIDATE → LIVE → ROLLED_BACK arrive as updates), and the control
 * audit trail.
 *
 * <p>Written by the single materializer thread, read by HTTP threads; every method is synchronized
 * (the data are small and reads are cheap copies).
 */
@Singleton
public class ModelState {

  /** How many control events the audit trail keeps in memory. */
  static final int MAX_CONTROL_EVENTS = 2_000;

  private final Map<ModelKind, TreeMap<Long, VersionEntry>> versions =
      new EnumMap<>(ModelKind.class);
  private final Deque<ControlEntry> control = new ArrayDeque<>();
  private final AtomicLong revision = new AtomicLong();

  /** A control event and where it was read. */
  public record ControlEntry(ModelControl event, int partition, long offset) {}

  public ModelState() {
    versions.put(ModelKind.POLICY, new TreeMap<>());
    versions.put(ModelKind.REWARD, new TreeMap<>());
  }

  /**
   * Applies one record of a versions topic; {@code value == null} is a tombstone for {@code key}.
   */
  public synchronized void applyVersion(ModelKind kind, String key, Object value, long offset) {
    TreeMap<Long, VersionEntry> byVersion = versions.get(kind);
    if (value == null) {
      parseKey(key).ifPresent(byVersion::remove);
      revision.incrementAndGet();
      return;
    }
    if (kind == ModelKind.POLICY && !(value instanceof PolicyVersion)
        || kind == ModelKind.REWARD && !(value instanceof RewardModelVersion)) {
      throw new IllegalArgumentException(
          "a " + value.getClass().getSimpleName() + " on the " + kind + " topic");
    }
    VersionEntry incoming = new VersionEntry(kind, value, offset, null, List.of());
    long version = incoming.version();
    VersionEntry previous = byVersion.get(version);
    if (previous != null && previous.offset() >= offset) {
      return; // already applied (re-read)
    }
    List<VersionEntry.StatusChange> history =
        new ArrayList<>(previous == null ? List.of() : previous.history());
    if (history.isEmpty() || history.get(history.size() - 1).status() != incoming.status()) {
      history.add(new VersionEntry.StatusChange(incoming.status(), incoming.eventTime(), offset));
    }
    Instant firstSeen = previous == null ? incoming.eventTime() : previous.firstSeen();
    byVersion.put(version, new VersionEntry(kind, value, offset, firstSeen, List.copyOf(history)));
    revision.incrementAndGet();
  }

  public synchronized void applyControl(ModelControl event, int partition, long offset) {
    for (ControlEntry e : control) {
      if (e.partition() == partition && e.offset() == offset) {
        return;
      }
    }
    control.addLast(new ControlEntry(event, partition, offset));
    while (control.size() > MAX_CONTROL_EVENTS) {
      control.removeFirst();
    }
    revision.incrementAndGet();
  }

  /** All versions of a kind, ascending. */
  public synchronized List<VersionEntry> versions(ModelKind kind) {
    return List.copyOf(versions.get(kind).values());
  }

  public synchronized Optional<VersionEntry> version(ModelKind kind, long version) {
    return Optional.ofNullable(versions.get(kind).get(version));
  }

  public synchronized int count(ModelKind kind) {
    return versions.get(kind).size();
  }

  /** Control events, oldest first, optionally for one kind and/or version. */
  public synchronized List<ControlEntry> control(ModelKind kind, Long version) {
    List<ControlEntry> out = new ArrayList<>();
    for (ControlEntry e : control) {
      if ((kind == null || e.event().getModelKind() == kind)
          && (version == null || e.event().getVersion() == version)) {
        out.add(e);
      }
    }
    return Collections.unmodifiableList(out);
  }

  /** The last control event for a version, if any. */
  public synchronized Optional<ControlEntry> lastControl(ModelKind kind, long version) {
    var it = control.descendingIterator();
    while (it.hasNext()) {
      ControlEntry e = it.next();
      if (e.event().getModelKind() == kind && e.event().getVersion() == version) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }

  /** Increases with every applied change; lets pollers tell whether anything moved. */
  public long revision() {
    return revision.get();
  }

  private static Optional<Long> parseKey(String key) {
    try {
      return key == null ? Optional.empty() : Optional.of(Long.parseLong(key.trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
