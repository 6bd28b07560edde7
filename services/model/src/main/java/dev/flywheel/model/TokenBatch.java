package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Sequences of different lengths padded into one (B, T) batch.
 *
 * @param tokens (B, T) int64 token ids, {@link ByteTokenizer#PAD} in padded slots
 * @param mask (B, T) int64, 1 for real tokens and 0 for padding
 */
public record TokenBatch(NDArray tokens, NDArray mask) {

  /** Which end of a row receives the padding. */
  public enum Side {
    /** Padding first: all rows end in the same slot (generation, scoring the last token). */
    LEFT,
    /** Padding last: all rows start in slot 0 (training). */
    RIGHT
  }

  public static TokenBatch of(NDManager manager, List<int[]> sequences, Side side) {
    int length = sequences.stream().mapToInt(s -> s.length).max().orElse(0);
    return of(manager, sequences, side, length);
  }

  /** Pads to exactly {@code length} slots (must be at least the longest sequence). */
  public static TokenBatch of(NDManager manager, List<int[]> sequences, Side side, int length) {
    return new TokenBatch(
        pad(manager, sequences, side, length, ByteTokenizer.PAD, false),
        pad(manager, sequences, side, length, 0, true));
  }

  /**
   * (B, length) int64 array of {@code rows}, padded with {@code padValue} on {@code side}. With
   * {@code indicator} true every real slot holds 1 instead of the row's value (a padding mask).
   * Also used to batch per-token masks such as {@link SftExample#lossMask()}.
   */
  public static NDArray pad(
      NDManager manager,
      List<int[]> rows,
      Side side,
      int length,
      long padValue,
      boolean indicator) {
    long[] data = new long[rows.size() * length];
    for (int r = 0; r < rows.size(); r++) {
      int[] row = rows.get(r);
      if (row.length > length) {
        throw new IllegalArgumentException(
            "row " + r + " has " + row.length + " tokens, more than " + length);
      }
      int offset = side == Side.LEFT ? length - row.length : 0;
      for (int t = 0; t < length; t++) {
        int i = t - offset;
        data[r * length + t] = i >= 0 && i < row.length ? (indicator ? 1 : row[i]) : padValue;
      }
    }
    return manager.create(data, new Shape(rows.size(), length));
  }

  public static NDArray pad(
      NDManager manager, List<int[]> rows, Side side, int length, long padValue) {
    return pad(manager, rows, side, length, padValue, false);
  }

  public long batchSize() {
    return tokens.getShape().get(0);
  }

  public long length() {
    return tokens.getShape().get(1);
  }
}
