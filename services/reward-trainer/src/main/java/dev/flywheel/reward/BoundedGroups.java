package dev.flywheel.reward;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The newest {@code bound} groups by {@link EncodedGroup#ORDER}. The content depends only on WHICH
 * groups were added, not on the order they arrived in (keeping the top-{@code bound} of a growing
 * set), so a trainer that rebuilds it from the topic after a restart gets exactly the same buffer,
 * and the same seeded replay sample.
 */
final class BoundedGroups {

  private final int bound;
  private final TreeSet<EncodedGroup> groups = new TreeSet<>(EncodedGroup.ORDER);

  BoundedGroups(int bound) {
    this.bound = bound;
  }

  void add(EncodedGroup group) {
    if (bound == 0) {
      return;
    }
    groups.add(group);
    while (groups.size() > bound) {
      groups.pollFirst();
    }
  }

  void addAll(Iterable<EncodedGroup> more) {
    more.forEach(this::add);
  }

  int size() {
    return groups.size();
  }

  /** Oldest first. */
  List<EncodedGroup> list() {
    return new ArrayList<>(groups);
  }

  /** Per partition, the smallest offset held: where a rebuild has to start reading. */
  Map<Integer, Long> earliestOffsets() {
    Map<Integer, Long> out = new TreeMap<>();
    for (EncodedGroup g : groups) {
      out.merge(g.partition(), g.offset(), Math::min);
    }
    return out;
  }
}
