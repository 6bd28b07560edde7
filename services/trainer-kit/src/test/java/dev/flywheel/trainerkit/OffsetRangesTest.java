package dev.flywheel.trainerkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.OffsetRange;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OffsetRangesTest {

  private static OffsetRange r(int partition, long from, long until) {
    return new OffsetRange("t", partition, from, until);
  }

  @Test
  void singleOffsetsMergeIntoContiguousRangesPerPartition() {
    OffsetRanges ranges = new OffsetRanges("t");
    for (long o : new long[] {5, 3, 4, 7, 8, 6, 20}) {
      ranges.add(0, o);
    }
    ranges.add(2, 0).add(2, 1);
    assertEquals(List.of(r(0, 3, 9), r(0, 20, 21), r(2, 0, 2)), ranges.toList());
    assertEquals(9, ranges.size());
    assertEquals(Map.of(0, 21L, 2, 2L), ranges.untilOffsets());
    assertTrue(ranges.contains(0, 8));
    assertFalse(ranges.contains(0, 9));
    assertFalse(ranges.contains(1, 0));
  }

  @Test
  void coverMergesOverlappingAndAdjacentRangesAndBridgesGaps() {
    OffsetRanges ranges = new OffsetRanges("t").cover(1, 10, 20).cover(1, 30, 40).cover(1, 50, 60);
    ranges.cover(1, 15, 35); // overlaps the first two
    assertEquals(List.of(r(1, 10, 40), r(1, 50, 60)), ranges.toList());
    ranges.cover(1, 40, 50); // adjacent on both sides
    assertEquals(List.of(r(1, 10, 60)), ranges.toList());
    ranges.cover(1, 12, 12); // empty: ignored
    assertEquals(List.of(r(1, 10, 60)), ranges.toList());
    assertThrows(IllegalArgumentException.class, () -> ranges.cover(1, 5, 4));
  }

  @Test
  void roundTripsThroughTheAvroListAndUnions() {
    OffsetRanges a =
        OffsetRanges.of(
            "t", List.of(r(0, 0, 10), r(3, 5, 6), new OffsetRange("other", 0, 0L, 99L)));
    assertEquals(List.of(r(0, 0, 10), r(3, 5, 6)), a.toList());
    a.addAll(new OffsetRanges("t").cover(0, 10, 12));
    assertEquals(List.of(r(0, 0, 12), r(3, 5, 6)), a.toList());
    assertEquals("t{0:[0,12) 3:[5,6)}", a.toString());
    assertTrue(new OffsetRanges("t").isEmpty());
    assertThrows(IllegalArgumentException.class, () -> a.addAll(new OffsetRanges("u")));
  }
}
