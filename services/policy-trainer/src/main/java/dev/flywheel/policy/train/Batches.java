package dev.flywheel.policy.train;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Row indices for cutting a batch: a range of rows, a shuffled order for the minibatches of an
 * epoch, and micro-batch {@code i} of a step under gradient accumulation.
 */
final class Batches {

  private Batches() {}

  /** The rows {@code from .. to − 1}. */
  static int[] range(int from, int to) {
    int[] out = new int[to - from];
    for (int i = 0; i < out.length; i++) {
      out[i] = from + i;
    }
    return out;
  }

  /** The rows {@code 0 .. n − 1} in a Fisher–Yates order drawn from {@code random}. */
  static int[] shuffled(int n, Random random) {
    int[] order = range(0, n);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  /** Micro-batch {@code index} of {@code count} of a step's {@code rows} (at least one row). */
  static int[] micro(int[] rows, int index, int count) {
    int from = index * rows.length / count;
    int to = (index + 1) * rows.length / count;
    return Arrays.copyOfRange(rows, from, Math.max(to, from + 1));
  }

  /** Micro-batch {@code index} of {@code count} of a step's {@code items} (at least one item). */
  static <T> List<T> micro(List<T> items, int index, int count) {
    int from = index * items.size() / count;
    int to = (index + 1) * items.size() / count;
    return items.subList(from, Math.max(to, from + 1));
  }
}
