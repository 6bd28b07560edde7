package dev.flywheel.serving.versions;

import dev.flywheel.events.ControlAction;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyVersion;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * What serving knows about policy versions: the latest {@code models.policy.versions} record of
 * each, overridden by later {@code models.control} events, and which version should serve.
 *
 * <p><b>Which version is live.</b> Several versions can carry status LIVE (a promotion does not
 * rewrite the previous version's record). The live one is the version that became LIVE most
 * recently: every transition into LIVE — a record whose status turns LIVE, or a PROMOTE, which also
 * re-promotes a version that was LIVE already — takes a new sequence number, and the highest wins.
 * A ROLLBACK sets the version to ROLLED_BACK, so the LIVE version promoted before it serves again.
 * Versions whose artifact failed to load are skipped by {@link #select}, so the previous one keeps
 * serving.
 *
 * <p><b>Canary.</b> The newest CANDIDATE newer than the live version.
 *
 * <p>Pure bookkeeping (no Kafka, no models), thread-safe.
 */
public final class VersionBook {

  /** Where a version record was read, with its raw bytes (for dead letters). */
  public record Source(String topic, int partition, long offset, byte[] key, byte[] value) {}

  /**
   * One version.
   *
   * @param record its latest record on the versions topic
   * @param status its effective status: the record's, or what a later control event made it
   * @param liveSeq when it last became LIVE (higher is more recent); 0 unless LIVE
   * @param lastControl the last control event applied to it, if any
   */
  public record Entry(
      long version,
      PolicyVersion record,
      ModelStatus status,
      long liveSeq,
      Source source,
      ModelControl lastControl) {

    public String artifactUri() {
      return record.getArtifactUri();
    }

    public String artifactSha256() {
      return record.getArtifactSha256();
    }

    /** The record's own status, before control events. */
    public ModelStatus recordStatus() {
      return record.getStatus();
    }
  }

  /** The versions that should be loaded, in priority order: live, canary, then standbys. */
  public record Selection(Entry live, Entry canary, List<Entry> standby) {}

  /** Result of {@link #applyControl}. */
  public enum ControlOutcome {
    APPLIED,
    UNKNOWN_VERSION,
    OTHER_KIND
  }

  private final Map<Long, Entry> entries = new TreeMap<>();
  private long sequence;

  /** Applies a record of the versions topic (the latest one per version wins). */
  public synchronized void applyVersion(PolicyVersion record, Source source) {
    long version = record.getVersion();
    Entry old = entries.get(version);
    ModelStatus status = record.getStatus();
    long liveSeq = 0;
    if (status == ModelStatus.LIVE) {
      liveSeq = old != null && old.status() == ModelStatus.LIVE ? old.liveSeq() : ++sequence;
    }
    entries.put(
        version,
        new Entry(
            version, record, status, liveSeq, source, old == null ? null : old.lastControl()));
  }

  /** A tombstone on the versions topic: forget the version. */
  public synchronized void remove(long version) {
    entries.remove(version);
  }

  /** Applies a PROMOTE or ROLLBACK; control events of reward models are ignored. */
  public synchronized ControlOutcome applyControl(ModelControl control) {
    if (control.getModelKind() != ModelKind.POLICY) {
      return ControlOutcome.OTHER_KIND;
    }
    Entry old = entries.get(control.getVersion());
    if (old == null) {
      return ControlOutcome.UNKNOWN_VERSION;
    }
    Entry updated =
        control.getAction() == ControlAction.PROMOTE
            ? new Entry(
                old.version(), old.record(), ModelStatus.LIVE, ++sequence, old.source(), control)
            : new Entry(
                old.version(), old.record(), ModelStatus.ROLLED_BACK, 0, old.source(), control);
    entries.put(old.version(), updated);
    return ControlOutcome.APPLIED;
  }

  /**
   * The live version (the most recent to become LIVE among {@code usable} ones), up to {@code
   * keepPrevious} standbys (the LIVE versions promoted before it) and the canary (the newest usable
   * CANDIDATE newer than the live version; any usable CANDIDATE when there is no live version).
   */
  public synchronized Selection select(Predicate<Entry> usable, int keepPrevious) {
    List<Entry> live =
        entries.values().stream()
            .filter(e -> e.status() == ModelStatus.LIVE && usable.test(e))
            .sorted(Comparator.comparingLong(Entry::liveSeq).reversed())
            .toList();
    Entry current = live.isEmpty() ? null : live.get(0);
    Entry canary = null;
    for (Entry e : entries.values()) { // ascending versions: the last match is the newest
      if (e.status() == ModelStatus.CANDIDATE
          && usable.test(e)
          && (current == null || e.version() > current.version())) {
        canary = e;
      }
    }
    List<Entry> standby =
        live.subList(
            Math.min(1, live.size()), Math.min(live.size(), 1 + Math.max(0, keepPrevious)));
    return new Selection(current, canary, List.copyOf(standby));
  }

  public synchronized Optional<Entry> get(long version) {
    return Optional.ofNullable(entries.get(version));
  }

  /** Every version, ascending. */
  public synchronized List<Entry> all() {
    return new ArrayList<>(entries.values());
  }

  /**
   * Versions whose effective status differs from their record's because of a control event: their
   * record should be republished with the new status.
   */
  public synchronized List<Entry> pendingRepublish() {
    return entries.values().stream()
        .filter(e -> e.lastControl() != null && e.status() != e.recordStatus())
        .toList();
  }
}
