package dev.flywheel.trainerkit;

import dev.flywheel.events.OffsetRange;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The offsets of one topic that a trainer consumed, per partition, as sorted disjoint half-open
 * ranges [from, until); adjacent or overlapping additions merge. Rendered as {@code
 * List<OffsetRange>} for the {@code trainingData} lineage of a version event.
 *
 * <p>Track consumer <em>positions</em> rather than single record offsets where you can ({@link
 * #cover} with the position before and after a poll): on transactional input topics commit markers
 * occupy offsets with no record, and per-record {@link #add} would show them as gaps. Not
 * thread-safe.
 */
public final class OffsetRanges {

  private final String topic;

  /** partition -> (from -> until), disjoint and non-adjacent. */
  private final TreeMap<Integer, TreeMap<Long, Long>> ranges = new TreeMap<>();

  public OffsetRanges(String topic) {
    this.topic = Objects.requireNonNull(topic, "topic");
  }

  /** The ranges of {@code topic} found in {@code list} (others are ignored). */
  public static OffsetRanges of(String topic, Collection<OffsetRange> list) {
    OffsetRanges out = new OffsetRanges(topic);
    for (OffsetRange r : list) {
      if (r.getTopic().equals(topic)) {
        out.cover(r.getPartition(), r.getFromOffset(), r.getUntilOffset());
      }
    }
    return out;
  }

  public String topic() {
    return topic;
  }

  /** Records that the record at {@code offset} of {@code partition} was consumed. */
  public OffsetRanges add(int partition, long offset) {
    return cover(partition, offset, offset + 1);
  }

  /**
   * Records that every offset in [from, until) of {@code partition} was consumed; empty ranges are
   * ignored.
   */
  public OffsetRanges cover(int partition, long from, long until) {
    if (from < 0 || until < from) {
      throw new IllegalArgumentException(
          "invalid range [" + from + ", " + until + ") of partition " + partition);
    }
    if (from == until) {
      return this;
    }
    TreeMap<Long, Long> p = ranges.computeIfAbsent(partition, k -> new TreeMap<>());
    long start = from;
    long end = until;
    Map.Entry<Long, Long> before = p.floorEntry(start);
    if (before != null && before.getValue() >= start) {
      start = before.getKey();
      end = Math.max(end, before.getValue());
      p.remove(before.getKey());
    }
    Map.Entry<Long, Long> next = p.ceilingEntry(start);
    while (next != null && next.getKey() <= end) {
      end = Math.max(end, next.getValue());
      p.remove(next.getKey());
      next = p.ceilingEntry(start);
    }
    p.put(start, end);
    return this;
  }

  /** Adds every range of {@code other} (same topic). */
  public OffsetRanges addAll(OffsetRanges other) {
    if (!other.topic.equals(topic)) {
      throw new IllegalArgumentException("topic " + other.topic + " != " + topic);
    }
    other.ranges.forEach(
        (partition, p) -> p.forEach((from, until) -> cover(partition, from, until)));
    return this;
  }

  public boolean isEmpty() {
    return ranges.isEmpty();
  }

  /** Whether {@code offset} of {@code partition} lies in a recorded range. */
  public boolean contains(int partition, long offset) {
    TreeMap<Long, Long> p = ranges.get(partition);
    if (p == null) {
      return false;
    }
    Map.Entry<Long, Long> e = p.floorEntry(offset);
    return e != null && offset < e.getValue();
  }

  /** Number of offsets covered (records plus any markers inside the ranges). */
  public long size() {
    long n = 0;
    for (TreeMap<Long, Long> p : ranges.values()) {
      for (Map.Entry<Long, Long> e : p.entrySet()) {
        n += e.getValue() - e.getKey();
      }
    }
    return n;
  }

  /** The end of the last range per partition: the next offset to consume after what is recorded. */
  public Map<Integer, Long> untilOffsets() {
    Map<Integer, Long> out = new TreeMap<>();
    ranges.forEach((partition, p) -> out.put(partition, p.lastEntry().getValue()));
    return out;
  }

  /** Sorted by partition then offset; one element per maximal contiguous range. */
  public List<OffsetRange> toList() {
    List<OffsetRange> out = new ArrayList<>();
    ranges.forEach(
        (partition, p) ->
            p.forEach(
                (from, until) ->
                    out.add(
                        OffsetRange.newBuilder()
                            .setTopic(topic)
                            .setPartition(partition)
                            .setFromOffset(from)
                            .setUntilOffset(until)
                            .build())));
    return out;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(topic).append('{');
    ranges.forEach(
        (partition, p) ->
            p.forEach(
                (from, until) ->
                    sb.append(partition)
                        .append(":[")
                        .append(from)
                        .append(',')
                        .append(until)
                        .append(") ")));
    if (!ranges.isEmpty()) {
      sb.setLength(sb.length() - 1);
    }
    return sb.append('}').toString();
  }
}
