package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.DataSplit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BoundedGroupsTest {

  private static EncodedGroup g(int partition, long offset, long time) {
    return new EncodedGroup(
        partition,
        offset,
        time,
        "g" + partition + "-" + offset,
        "p" + offset,
        DataSplit.TRAIN,
        List.of(),
        List.of(),
        List.of(),
        -1);
  }

  @Test
  void keepsTheNewestWhateverTheArrivalOrder() {
    List<EncodedGroup> all = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      all.add(g(i % 3, i / 3, 1000 + (i * 37L) % 101));
    }
    BoundedGroups inOrder = new BoundedGroups(10);
    inOrder.addAll(all);
    List<EncodedGroup> shuffled = new ArrayList<>(all);
    Collections.shuffle(shuffled, new Random(3));
    BoundedGroups other = new BoundedGroups(10);
    other.addAll(shuffled);
    assertEquals(
        inOrder.list(), other.list(), "the same set, so a rebuilt buffer equals the original");
    List<EncodedGroup> sorted = new ArrayList<>(all);
    sorted.sort(EncodedGroup.ORDER);
    assertEquals(sorted.subList(90, 100), inOrder.list());
  }

  @Test
  void earliestOffsetsPerPartition() {
    BoundedGroups b = new BoundedGroups(3);
    b.add(g(0, 5, 1));
    b.add(g(0, 7, 2));
    b.add(g(1, 2, 3));
    b.add(g(1, 9, 4)); // evicts (0, 5)
    assertEquals(Map.of(0, 7L, 1, 2L), b.earliestOffsets());
    BoundedGroups none = new BoundedGroups(0);
    none.add(g(0, 1, 1));
    assertEquals(0, none.size());
  }
}
