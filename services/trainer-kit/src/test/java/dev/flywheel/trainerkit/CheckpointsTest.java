package dev.flywheel.trainerkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointsTest {

  @TempDir Path root;

  @Test
  void savesStateAndFilesAndFindsTheLatest() throws IOException {
    Checkpoints checkpoints = new Checkpoints(root, 5);
    assertTrue(checkpoints.latest().isEmpty());
    checkpoints.save(
        new Checkpoints.State(1, 0, null, Map.of(new TopicPartition("in", 0), 7L), Map.of()));
    Checkpoints.Checkpoint second =
        checkpoints.save(
            new Checkpoints.State(
                2,
                40,
                3L,
                Map.of(new TopicPartition("in", 1), 9L, new TopicPartition("in", 0), 12L),
                Map.of("until.in.0", "20")),
            dir -> Files.writeString(dir.resolve("params.bin"), "weights"));

    Checkpoints.Checkpoint latest = new Checkpoints(root, 5).latest().orElseThrow();
    assertEquals(second.directory(), latest.directory());
    assertEquals(2, latest.sequence());
    assertEquals(2, latest.state().round());
    assertEquals(40, latest.state().step());
    assertEquals(3L, latest.state().version());
    assertEquals(
        Map.of(new TopicPartition("in", 0), 12L, new TopicPartition("in", 1), 9L),
        latest.state().offsetMap());
    assertEquals(
        List.of(
            new Checkpoints.PartitionOffset("in", 0, 12),
            new Checkpoints.PartitionOffset("in", 1, 9)),
        latest.state().offsets(),
        "offsets are stored sorted");
    assertEquals("20", latest.state().extra().get("until.in.0"));
    assertEquals("weights", Files.readString(latest.file("params.bin")));
  }

  @Test
  void aFailedWriteLeavesNoCheckpointAndLeftoversAreCleanedUp() throws IOException {
    Checkpoints checkpoints = new Checkpoints(root, 5);
    checkpoints.save(new Checkpoints.State(1, 0, null, Map.of(), Map.of()));
    assertThrows(
        IOException.class,
        () ->
            checkpoints.save(
                new Checkpoints.State(2, 0, null, Map.of(), Map.of()),
                dir -> {
                  Files.writeString(dir.resolve("half"), "x");
                  throw new IOException("disk full");
                }));
    assertEquals(
        1,
        checkpoints.latest().orElseThrow().state().round(),
        "the failed checkpoint is not visible");
    // a crash mid-write leaves a hidden temporary directory: ignored by latest(), deleted on the
    // next start
    Path leftover = Files.createDirectory(root.resolve(".tmp-checkpoint-crashed"));
    Files.writeString(leftover.resolve(Checkpoints.STATE_FILE), "{\"round\": 99}");
    assertEquals(1, checkpoints.latest().orElseThrow().state().round());
    new Checkpoints(root, 5);
    assertFalse(Files.exists(leftover));
    // a directory with a corrupt state file is skipped
    Path corrupt = Files.createDirectory(root.resolve("checkpoint-000000000077"));
    Files.writeString(corrupt.resolve(Checkpoints.STATE_FILE), "{not json");
    assertEquals(1, checkpoints.latest().orElseThrow().state().round());
  }

  @Test
  void prunesAllButTheNewest() throws IOException {
    Checkpoints checkpoints = new Checkpoints(root, 2);
    for (int round = 1; round <= 5; round++) {
      checkpoints.save(new Checkpoints.State(round, 0, null, Map.of(), Map.of()));
    }
    List<Checkpoints.Checkpoint> left = checkpoints.list();
    assertEquals(List.of(4L, 5L), left.stream().map(c -> c.state().round()).toList());
    try (Stream<Path> files = Files.list(root)) {
      assertEquals(2, files.count());
    }
    checkpoints.clear();
    assertTrue(checkpoints.latest().isEmpty());
    assertThrows(IllegalArgumentException.class, () -> new Checkpoints(root, 0));
  }
}
