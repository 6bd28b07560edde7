package dev.flywheel.serving.versions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ControlAction;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class VersionBookTest {

  static final Predicate<VersionBook.Entry> ALL = e -> true;

  static PolicyVersion version(long v, ModelStatus status) {
    return PolicyVersion.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(Instant.now())
        .setVersion(v)
        .setStage(PolicyStage.PPO)
        .setParentVersions(List.of())
        .setStatus(status)
        .setCreatedAt(Instant.now())
        .setArtifactUri("file:///a/" + v)
        .setArtifactSha256("sha" + v)
        .setMetrics(Map.of())
        .setTrainingData(List.of())
        .build();
  }

  static ModelControl control(ControlAction action, long v) {
    return ModelControl.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(Instant.now())
        .setModelKind(ModelKind.POLICY)
        .setAction(action)
        .setVersion(v)
        .setRequestedBy("ops")
        .build();
  }

  static long live(VersionBook book) {
    VersionBook.Entry e = book.select(ALL, 1).live();
    return e == null ? -1 : e.version();
  }

  @Test
  void theMostRecentlyPromotedLiveVersionServes() {
    VersionBook book = new VersionBook();
    assertEquals(-1, live(book));
    book.applyVersion(version(1, ModelStatus.LIVE), null);
    book.applyVersion(version(2, ModelStatus.CANDIDATE), null);
    assertEquals(1, live(book));
    book.applyVersion(version(2, ModelStatus.LIVE), null);
    assertEquals(2, live(book));
    assertEquals(
        List.of(1L),
        book.select(ALL, 1).standby().stream().map(VersionBook.Entry::version).toList());
    // a repeated LIVE record does not re-promote
    book.applyVersion(version(1, ModelStatus.LIVE), null);
    assertEquals(2, live(book));
    // an explicit PROMOTE of the older one does
    book.applyControl(control(ControlAction.PROMOTE, 1));
    assertEquals(1, live(book));
  }

  @Test
  void rollbackReinstatesThePreviousLiveVersion() {
    VersionBook book = new VersionBook();
    book.applyVersion(version(1, ModelStatus.LIVE), null);
    book.applyVersion(version(2, ModelStatus.LIVE), null);
    book.applyVersion(version(3, ModelStatus.LIVE), null);
    assertEquals(
        VersionBook.ControlOutcome.APPLIED, book.applyControl(control(ControlAction.ROLLBACK, 3)));
    assertEquals(2, live(book));
    assertEquals(ModelStatus.ROLLED_BACK, book.get(3).orElseThrow().status());
    book.applyControl(control(ControlAction.ROLLBACK, 2));
    assertEquals(1, live(book));
    book.applyControl(control(ControlAction.ROLLBACK, 1));
    assertEquals(-1, live(book), "nothing left to serve");
    assertEquals(
        VersionBook.ControlOutcome.UNKNOWN_VERSION,
        book.applyControl(control(ControlAction.PROMOTE, 9)));
  }

  @Test
  void rewardModelControlsAreIgnored() {
    VersionBook book = new VersionBook();
    book.applyVersion(version(1, ModelStatus.LIVE), null);
    ModelControl reward = control(ControlAction.ROLLBACK, 1);
    reward.setModelKind(ModelKind.REWARD);
    assertEquals(VersionBook.ControlOutcome.OTHER_KIND, book.applyControl(reward));
    assertEquals(1, live(book));
  }

  @Test
  void canaryIsTheNewestCandidateNewerThanLive() {
    VersionBook book = new VersionBook();
    book.applyVersion(version(1, ModelStatus.CANDIDATE), null);
    book.applyVersion(version(2, ModelStatus.LIVE), null);
    assertNull(book.select(ALL, 1).canary(), "a candidate older than live is no canary");
    book.applyVersion(version(3, ModelStatus.CANDIDATE), null);
    book.applyVersion(version(4, ModelStatus.CANDIDATE), null);
    book.applyVersion(version(5, ModelStatus.REJECTED), null);
    assertEquals(4, book.select(ALL, 1).canary().version());
    assertEquals(
        3,
        book.select(e -> e.version() != 4, 1).canary().version(),
        "an unusable canary is skipped");
  }

  @Test
  void unusableVersionsAreSkippedSoThePreviousOneServes() {
    VersionBook book = new VersionBook();
    book.applyVersion(version(1, ModelStatus.LIVE), null);
    book.applyVersion(version(2, ModelStatus.LIVE), null);
    VersionBook.Selection s = book.select(e -> e.version() != 2, 2);
    assertEquals(1, s.live().version());
    assertTrue(s.standby().isEmpty());
  }

  @Test
  void controlledStatusesArePendingRepublishUntilTheRecordAgrees() {
    VersionBook book = new VersionBook();
    book.applyVersion(version(1, ModelStatus.LIVE), null);
    book.applyVersion(version(2, ModelStatus.CANDIDATE), null);
    book.applyControl(control(ControlAction.PROMOTE, 2));
    book.applyControl(control(ControlAction.ROLLBACK, 1));
    assertEquals(
        Set.of(1L, 2L),
        Set.copyOf(book.pendingRepublish().stream().map(VersionBook.Entry::version).toList()));
    book.applyVersion(version(2, ModelStatus.LIVE), null); // our own republished record comes back
    assertEquals(2, live(book));
    assertEquals(
        List.of(1L), book.pendingRepublish().stream().map(VersionBook.Entry::version).toList());
  }

  @Test
  void aTombstoneForgetsTheVersion() {
    VersionBook book = new VersionBook();
    book.applyVersion(version(1, ModelStatus.LIVE), null);
    book.remove(1);
    assertEquals(-1, live(book));
  }
}
