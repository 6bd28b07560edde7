package dev.flywheel.serving.engine;

import dev.flywheel.model.ByteTokenizer;
import java.util.List;

/**
 * Turns one row's sampled byte tokens into text deltas, applying stop sequences.
 *
 * <p>Bytes go through {@link ByteTokenizer.StreamDecoder}, so a character split across tokens is
 * emitted whole and the streamed deltas concatenate to exactly the non-streamed text. Text that
 * could be the beginning of a stop sequence is held back until it is clear that it is not one; when
 * a stop sequence appears, the text ends right before it (OpenAI semantics: the stop sequence is
 * not returned).
 */
final class TextAssembler {

  private final ByteTokenizer.StreamDecoder decoder = new ByteTokenizer.StreamDecoder();
  private final StringBuilder text = new StringBuilder();
  private final List<String> stops;
  private final int longestStop;
  private int emitted;
  private boolean stopped;

  TextAssembler(List<String> stops) {
    this.stops = stops;
    this.longestStop = stops.stream().mapToInt(String::length).max().orElse(0);
  }

  /**
   * Adds a sampled byte token (not EOS); returns the text that may be emitted now (possibly "").
   */
  String push(int token) {
    String piece = decoder.push(token);
    return piece.isEmpty() ? "" : append(piece);
  }

  /** Ends the row (EOS or length): flushes an incomplete character and any held-back text. */
  String finish() {
    String tail = stopped ? "" : decoder.finish();
    String delta = tail.isEmpty() ? "" : append(tail);
    if (stopped) {
      return delta;
    }
    String rest = text.substring(emitted);
    emitted = text.length();
    return delta + rest;
  }

  /** Whether a stop sequence ended the text. */
  boolean stopped() {
    return stopped;
  }

  String text() {
    return text.toString();
  }

  private String append(String piece) {
    int searchFrom = Math.max(0, text.length() - longestStop + 1);
    text.append(piece);
    if (!stops.isEmpty()) {
      int at = -1;
      for (String stop : stops) {
        int i = text.indexOf(stop, searchFrom);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
        }
      }
      if (at >= 0) {
        text.setLength(Math.max(at, emitted));
        stopped = true;
        String delta = text.substring(emitted);
        emitted = text.length();
        return delta;
      }
    }
    int safe = text.length() - heldBack();
    if (safe <= emitted) {
      return "";
    }
    String delta = text.substring(emitted, safe);
    emitted = safe;
    return delta;
  }

  private boolean endsWith(String stop, int k) {
    int offset = text.length() - k;
    for (int i = 0; i < k; i++) {
      if (text.charAt(offset + i) != stop.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Length of the longest suffix of the text that is a proper prefix of a stop sequence. */
  private int heldBack() {
    int best = 0;
    for (String stop : stops) {
      for (int k = Math.min(stop.length() - 1, text.length()); k > best; k--) {
        if (endsWith(stop, k)) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
