package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.RewardModel;
import dev.flywheel.schemas.support.FileTrees;
import dev.flywheel.trainerkit.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The round checkpoint format, written to and read back from a temporary directory (no Kafka). */
class RewardRoundCheckpointsTest {

  private static final TopicPartition P0 = new TopicPartition("training.comparisons", 0);
  private static final TopicPartition P1 = new TopicPartition("training.comparisons", 1);
  private static final List<TopicPartition> PARTITIONS = List.of(P0, P1);

  /** Round 3's input: committed offsets (its start), its end, where the history starts. */
  private static final Map<TopicPartition, Long> START = Map.of(P0, 100L, P1, 80L);

  private static final Map<TopicPartition, Long> UNTIL = Map.of(P0, 356L, P1, 301L);
  private static final Map<Integer, Long> HISTORY_FROM = Map.of(0, 12L, 1, 0L);
  private static final String PLAN = "3f9a";

  static NDManager manager;
  static RewardModel model;

  @TempDir Path tmp;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
    model = RewardModel.create(GptConfig.tiny(), manager);
  }

  @AfterAll
  static void tearDown() {
    model.close();
    manager.close();
  }

  /**
   * A mid-round checkpoint of round (= version) 3 at step 25, warm-started from {@code parent},
   * read back from disk.
   */
  private Checkpoints.Checkpoint midRound(Optional<Long> parent) throws Exception {
    RewardRoundCheckpoints checkpoints = new RewardRoundCheckpoints(new Checkpoints(tmp, 2));
    try (EarlyStopping early = new EarlyStopping(2)) {
      early.observe(1, 0.6, model);
      checkpoints.saveTraining(
          model,
          3,
          25,
          3,
          START,
          RewardRoundCheckpoints.trainingExtra(parent, PLAN, UNTIL, HISTORY_FROM),
          early);
    }
    return new RewardRoundCheckpoints(new Checkpoints(tmp, 2)).latest().orElseThrow();
  }

  private static boolean resumable(
      Checkpoints.Checkpoint c, long nextVersion, Optional<Long> accepted) {
    return RewardRoundCheckpoints.resumable(c, nextVersion, accepted, START, PARTITIONS);
  }

  @Test
  void aMidRoundCheckpointResumesExactlyItsRound() throws Exception {
    Checkpoints.Checkpoint c = midRound(Optional.of(2L));
    assertTrue(resumable(c, 3, Optional.of(2L)), "the round it was made in");
    assertEquals(3, c.state().round());
    assertEquals(25, c.state().step());
    assertTrue(RewardRoundCheckpoints.samePlan(c, PLAN));
    assertFalse(RewardRoundCheckpoints.samePlan(c, "3f9b"), "other round data");
    assertEquals(UNTIL, RewardRoundCheckpoints.until(c, PARTITIONS));

    assertFalse(resumable(c, 4, Optional.of(2L)), "the next version is another round");
    assertFalse(resumable(c, 2, Optional.of(2L)));
    assertFalse(resumable(c, 3, Optional.of(1L)), "another parent");
    assertFalse(resumable(c, 3, Optional.empty()), "no parent any more (rolled back)");
    assertFalse(
        RewardRoundCheckpoints.resumable(
            c, 3, Optional.of(2L), Map.of(P0, 100L, P1, 81L), PARTITIONS),
        "the committed offsets moved: the round's input starts elsewhere");
    TopicPartition p2 = new TopicPartition("training.comparisons", 2);
    assertFalse(
        RewardRoundCheckpoints.resumable(
            c, 3, Optional.of(2L), Map.of(P0, 100L, P1, 80L, p2, 0L), List.of(P0, P1, p2)),
        "a partition the checkpoint has no end offset for");
  }

  @Test
  void aFreshRoundResumesOnlyWhileNoVersionIsAccepted() throws Exception {
    Checkpoints.Checkpoint c = midRound(Optional.empty());
    assertEquals("", c.state().extra().get("parent"));
    assertTrue(resumable(c, 3, Optional.empty()));
    assertFalse(resumable(c, 3, Optional.of(2L)), "a version was accepted since");
  }

  @Test
  void withoutItsModelAMidRoundCheckpointDoesNotResume() throws Exception {
    Checkpoints.Checkpoint c = midRound(Optional.of(2L));
    assertTrue(Files.isDirectory(RewardRoundCheckpoints.model(c)));
    FileTrees.deleteRecursively(RewardRoundCheckpoints.model(c));
    assertFalse(resumable(c, 3, Optional.of(2L)));
  }

  @Test
  void aPublishedCheckpointNeverResumes() throws Exception {
    RewardRoundCheckpoints checkpoints = new RewardRoundCheckpoints(new Checkpoints(tmp, 2));
    checkpoints.savePublished(3, 40, 3, START, HISTORY_FROM);
    Checkpoints.Checkpoint c = checkpoints.latest().orElseThrow();
    for (long next = 2; next <= 4; next++) {
      assertFalse(resumable(c, next, Optional.of(2L)), "next version " + next);
      assertFalse(resumable(c, next, Optional.empty()), "next version " + next);
    }
    assertEquals(
        Map.of("phase", "published", "history.from.0", "12", "history.from.1", "0"),
        c.state().extra());
    assertEquals(START, c.state().offsetMap());
    assertEquals(3L, c.state().version());
  }

  @Test
  void theHistoryStartReadsBackAsWritten() throws Exception {
    Checkpoints.Checkpoint mid = midRound(Optional.of(2L));
    RewardRoundCheckpoints checkpoints = new RewardRoundCheckpoints(new Checkpoints(tmp, 2));
    checkpoints.savePublished(3, 40, 3, START, Map.of(0, 356L, 1, 7L));
    Checkpoints.Checkpoint published = checkpoints.latest().orElseThrow();
    assertEquals(12L, RewardRoundCheckpoints.historyFrom(mid, 0));
    assertEquals(0L, RewardRoundCheckpoints.historyFrom(mid, 1));
    assertEquals(356L, RewardRoundCheckpoints.historyFrom(published, 0));
    assertEquals(7L, RewardRoundCheckpoints.historyFrom(published, 1));
    assertNull(RewardRoundCheckpoints.historyFrom(published, 2), "a partition it does not name");
  }

  @Test
  void aMidRoundCheckpointKeepsItsKeysOnDisk() throws Exception {
    Checkpoints.Checkpoint c = midRound(Optional.of(2L));
    Map<String, String> extra = c.state().extra();
    assertEquals("training", extra.get("phase"));
    assertEquals("2", extra.get("parent"));
    assertEquals(PLAN, extra.get("plan"));
    assertEquals("356", extra.get("until.0"));
    assertEquals("301", extra.get("until.1"));
    assertEquals("12", extra.get("history.from.0"));
    assertEquals("0", extra.get("history.from.1"));
    assertEquals("1", extra.get("early-stopping.best-epoch"), "early stopping's state too");
    assertEquals(10, extra.size(), extra.toString());
    assertEquals(START, c.state().offsetMap());
    assertTrue(Files.isRegularFile(c.file(EarlyStopping.BEST_FILE)));
  }
}
