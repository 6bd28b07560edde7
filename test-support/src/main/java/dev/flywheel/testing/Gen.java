package dev.flywheel.testing;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Draws the inputs of one try of a {@link Fuzz} property: numbers with their edge cases, text from
 * the alphabets that break parsers (NUL, control characters, JSON escapes, lone UTF-16 surrogates,
 * characters outside the BMP), bytes, and whole JSON values. Lengths stay within {@link #size()}
 * most of the time and reach the full length asked for now and then, so limits are crossed on both
 * sides.
 */
public final class Gen {

  /** Largest {@link #size()}. */
  public static final int MAX_SIZE = 64;

  private static final String ID_CHARS =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:";
  private static final String JSON_SPECIAL = "\"\\/\b\f\n\r\t{}[],:";
  private static final String[] SAMPLES = {
    "",
    " ",
    "\t",
    "null",
    "true",
    "0",
    "-1",
    "NaN",
    "user",
    "system",
    "assistant",
    "tool",
    "A",
    "B",
    "tie",
    "training",
    "held_out",
    "text",
    "\u00e9",
    "\ud83d\ude00",
    "\u0000",
    "\ud800",
    "\udc00",
    "2025-05-01T12:00:00Z",
    "-999999999-01-01T00:00:00Z",
    "+999999999-12-31T23:59:59Z",
    "9999999999999999",
    "1e400"
  };
  private static final BigDecimal[] NUMBER_EDGES = {
    BigDecimal.ZERO,
    BigDecimal.ONE,
    BigDecimal.ONE.negate(),
    new BigDecimal("0.5"),
    new BigDecimal("2.5"),
    new BigDecimal("-0.0"),
    new BigDecimal("1e-400"),
    new BigDecimal("1e400"),
    new BigDecimal("1E+999999999"),
    new BigDecimal("1E-999999999"),
    BigDecimal.valueOf(Integer.MAX_VALUE),
    BigDecimal.valueOf(Integer.MAX_VALUE).add(BigDecimal.ONE),
    BigDecimal.valueOf(Integer.MIN_VALUE),
    BigDecimal.valueOf(Long.MAX_VALUE),
    BigDecimal.valueOf(Long.MAX_VALUE).add(BigDecimal.ONE),
    BigDecimal.valueOf(Long.MIN_VALUE),
    BigDecimal.valueOf((1L << 53) - 1),
    BigDecimal.valueOf(1L << 53),
    new BigDecimal("99999999999999999999"),
    new BigDecimal("18446744073709551617"),
    new BigDecimal("1" + "0".repeat(300)),
    new BigDecimal("2"),
    new BigDecimal("4096"),
    new BigDecimal("4097"),
    new BigDecimal("9"),
    new BigDecimal("10")
  };

  private final SplittableRandom random;
  private final int size;

  /**
   * A generator with its own random stream; {@code size} scales the lengths it draws (1..{@value
   * #MAX_SIZE}).
   */
  public Gen(long seed, int size) {
    this.random = new SplittableRandom(seed);
    this.size = Math.max(1, Math.min(MAX_SIZE, size));
  }

  /** How large this try's inputs are, 1..{@value #MAX_SIZE}. */
  public int size() {
    return size;
  }

  // ------------------------------------------------------------------------------------------
  // choices

  /** Uniform in {@code lo..hi}, both included. */
  public int between(int lo, int hi) {
    return lo >= hi ? lo : lo + random.nextInt(hi - lo + 1);
  }

  public long nextLong() {
    return random.nextLong();
  }

  public double nextDouble() {
    return random.nextDouble();
  }

  /** True with probability {@code p}. */
  public boolean chance(double p) {
    return random.nextDouble() < p;
  }

  @SafeVarargs
  public final <T> T oneOf(T... options) {
    return options[random.nextInt(options.length)];
  }

  public <T> T pick(List<T> options) {
    return options.get(random.nextInt(options.size()));
  }

  /**
   * A length in {@code min..max}: usually at most {@code min + size()}, sometimes anywhere up to
   * {@code max}.
   */
  public int length(int min, int max) {
    if (max <= min) {
      return min;
    }
    return chance(0.08) ? between(min, max) : between(min, (int) Math.min(max, (long) min + size));
  }

  /** {@code min..max} elements from {@code element}, lengths as {@link #length}. */
  public <T> List<T> list(int min, int max, Supplier<T> element) {
    int n = length(min, max);
    List<T> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(element.get());
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // numbers

  /** A long, often an edge (0, ±1, the int and long bounds, 2^53 ± 1). */
  public long anyLong() {
    return switch (random.nextInt(6)) {
      case 0 ->
          oneOf(
              0L,
              1L,
              -1L,
              (long) Integer.MAX_VALUE,
              (long) Integer.MIN_VALUE,
              Long.MAX_VALUE,
              Long.MIN_VALUE,
              (1L << 53) - 1,
              1L << 53,
              -(1L << 53) + 1,
              -(1L << 53));
      case 1 -> between(-10, 10);
      case 2 -> random.nextInt();
      default -> random.nextLong() >> random.nextInt(64);
    };
  }

  /**
   * A JSON number as a {@link BigDecimal}: an edge (fractions, ±0, the int, long and 2^53 bounds,
   * 1e400, a 300-digit integer, a huge exponent), a small integer, a long, or a double.
   */
  public BigDecimal number() {
    return switch (random.nextInt(5)) {
      case 0 -> oneOf(NUMBER_EDGES);
      case 1 -> BigDecimal.valueOf(between(-3, 300));
      case 2 -> BigDecimal.valueOf(anyLong());
      case 3 -> BigDecimal.valueOf((random.nextDouble() - 0.3) * Math.pow(10, between(-5, 5)));
      default ->
          new BigDecimal(
              new BigInteger(between(1, 80), new java.util.Random(random.nextLong())),
              between(-30, 30));
    };
  }

  // ------------------------------------------------------------------------------------------ text

  /**
   * Any UTF-16 text of at most {@code maxLength} characters: letters, digits, spaces, JSON's
   * special characters, control characters, NUL, Latin-1, CJK, emoji (surrogate pairs), lone high
   * or low surrogates, or one of a few words the parsers treat specially ("user", "tie",
   * "held_out", timestamps, ...).
   */
  public String text(int maxLength) {
    if (chance(0.15)) {
      String sample = oneOf(SAMPLES);
      return sample.length() <= maxLength ? sample : "";
    }
    int n = length(0, maxLength);
    StringBuilder out = new StringBuilder(n);
    while (out.length() < n) {
      int kind = random.nextInt(20);
      if (kind < 8) {
        out.append(ID_CHARS.charAt(random.nextInt(ID_CHARS.length())));
      } else if (kind < 10) {
        out.append(' ');
      } else if (kind < 12) {
        out.append(JSON_SPECIAL.charAt(random.nextInt(JSON_SPECIAL.length())));
      } else if (kind == 12) {
        out.append((char) random.nextInt(0x20)); // control characters, NUL included
      } else if (kind == 13) {
        out.append((char) between(0xA0, 0xFF));
      } else if (kind == 14) {
        out.append((char) between(0x4E00, 0x9FFF));
      } else if (kind == 15 && out.length() + 2 <= n) {
        out.appendCodePoint(between(0x1F300, 0x1FAFF));
      } else if (kind == 16) {
        out.append((char) between(0xD800, 0xDFFF)); // a lone surrogate
      } else {
        out.append((char) between(0x20, 0x7E));
      }
    }
    return out.toString();
  }

  /**
   * Valid, non-blank text of {@code minLength..maxLength} characters (at least 1): no NUL, no lone
   * surrogate; may hold control characters, JSON specials and characters outside the BMP.
   */
  public String validText(int minLength, int maxLength) {
    int n = length(Math.max(1, minLength), Math.max(1, maxLength));
    StringBuilder out = new StringBuilder(n);
    while (out.length() < n) {
      int kind = random.nextInt(12);
      if (kind < 7) {
        out.append(ID_CHARS.charAt(random.nextInt(ID_CHARS.length())));
      } else if (kind == 7) {
        out.append(' ');
      } else if (kind == 8) {
        out.append(JSON_SPECIAL.charAt(random.nextInt(JSON_SPECIAL.length())));
      } else if (kind == 9) {
        out.append((char) between(0x01, 0x1F));
      } else if (kind == 10) {
        out.append((char) between(0x4E00, 0x9FFF));
      } else if (out.length() + 2 <= n) {
        out.appendCodePoint(between(0x1F300, 0x1FAFF));
      }
    }
    if (out.toString().isBlank()) {
      out.setCharAt(0, 'x');
    }
    return out.toString();
  }

  /** An id: 1..{@code maxLength} characters of letters, digits and {@code -_.:}. */
  public String id(int maxLength) {
    int n = length(1, Math.max(1, maxLength));
    StringBuilder out = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      out.append(ID_CHARS.charAt(random.nextInt(ID_CHARS.length())));
    }
    return out.toString();
  }

  /** Random bytes, at most {@code maxLength} of them. */
  public byte[] bytes(int maxLength) {
    byte[] out = new byte[length(0, maxLength)];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) random.nextInt(256);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------ JSON

  /**
   * A JSON value as plain Java: null, Boolean, BigDecimal, String, List or Map (string keys,
   * insertion order), nested at most {@code depth} levels. Jackson writes it as JSON text.
   */
  public Object json(int depth) {
    int kind = random.nextInt(depth > 0 ? 8 : 5);
    return switch (kind) {
      case 0 -> null;
      case 1 -> chance(0.5);
      case 2 -> number();
      case 3, 4 -> text(2 * MAX_SIZE);
      case 5, 6 -> list(0, 6, () -> json(depth - 1));
      default -> object(depth, List.of());
    };
  }

  /** A JSON object of 0..6 pairs whose keys are often drawn from {@code likelyKeys}. */
  public Map<String, Object> object(int depth, List<String> likelyKeys) {
    Map<String, Object> out = new LinkedHashMap<>();
    int n = length(0, 6);
    for (int i = 0; i < n; i++) {
      String key = !likelyKeys.isEmpty() && chance(0.7) ? pick(likelyKeys) : text(24);
      out.put(key, json(depth - 1));
    }
    return out;
  }
}
