package dev.flywheel.policy.service;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Small helpers the rounds share: a round's offset ranges as checkpoint text, seed mixing, resource
 * ownership.
 */
final class RoundRanges {

  private RoundRanges() {}

  /** {@code partition:from-until,...}, the form a checkpoint keeps a round's data ranges in. */
  static String encode(Map<Integer, long[]> ranges) {
    StringBuilder sb = new StringBuilder();
    ranges.forEach(
        (p, r) ->
            sb.append(sb.length() == 0 ? "" : ",")
                .append(p)
                .append(':')
                .append(r[0])
                .append('-')
                .append(r[1]));
    return sb.toString();
  }

  static Map<Integer, long[]> decode(String s) {
    Map<Integer, long[]> out = new TreeMap<>();
    if (s == null || s.isBlank()) {
      return out;
    }
    for (String part : s.split(",")) {
      String[] pr = part.split(":");
      String[] fu = pr[1].split("-");
      out.put(Integer.parseInt(pr[0]), new long[] {Long.parseLong(fu[0]), Long.parseLong(fu[1])});
    }
    return out;
  }

  static boolean contains(Map<Integer, long[]> ranges, int partition, long offset) {
    long[] r = ranges.get(partition);
    return r != null && offset >= r[0] && offset < r[1];
  }

  /** A well-spread seed from a base seed and two numbers (splitmix64's finaliser). */
  static long mix(long seed, long a, long b) {
    long z = seed * 0x9E3779B97F4A7C15L + a * 0xBF58476D1CE4E5B9L + b * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * Adds {@code resource} to {@code owned} (closed in reverse order by the caller) and returns it.
   */
  static <T extends AutoCloseable> T own(List<AutoCloseable> owned, T resource) {
    owned.add(resource);
    return resource;
  }
}
