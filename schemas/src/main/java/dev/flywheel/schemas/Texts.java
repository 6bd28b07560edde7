package dev.flywheel.schemas;

/**
 * What every string field of the contracts may hold: Unicode text that UTF-8 can carry, without
 * NUL. A lone (unpaired) UTF-16 surrogate has no UTF-8 encoding — Avro's encoder writes it as '?',
 * silently — and NUL ends strings in many readers. The APIs that accept text (gateway, serving,
 * model registry) refuse both with a 400 naming the field, through {@link #invalidCharAt}.
 */
public final class Texts {

  private Texts() {}

  /**
   * Index of the first NUL or lone (unpaired) UTF-16 surrogate in {@code s}, or -1 when there is
   * none.
   */
  public static int invalidCharAt(CharSequence s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == 0) {
        return i;
      }
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c)
            && i + 1 < n
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return i;
        }
      }
    }
    return -1;
  }
}
