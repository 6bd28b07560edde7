package dev.flywheel.simulator;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text tests the gold scorers are built from. Everything is case-insensitive and byte-counted.
 */
final class Rules {

  /** Rude phrases: any of them costs a response a fixed penalty, in every family. */
  static final List<String> RUDE =
      List.of(
          "whatever",
          "ugh",
          "obviously",
          "duh",
          "stupid",
          "dumb",
          "idiot",
          "shut up",
          "go away",
          "what do you want",
          "your fault",
          "even a child",
          "leave me alone",
          "who cares",
          "don't care",
          "not my problem");

  /** Polite phrases. */
  static final List<String> POLITE =
      List.of(
          "please",
          "thank",
          "thanks",
          "nice",
          "glad",
          "kind",
          "take care",
          "sorry",
          "lovely",
          "wonderful",
          "pleasure",
          "welcome",
          "have a good",
          "have a great",
          "happy to");

  /** Refusal phrases. */
  static final List<String> REFUSAL =
      List.of(
          "can't",
          "cannot",
          "can not",
          "won't",
          "will not",
          "unable",
          "not able",
          "refuse",
          "no way",
          "not help");

  private static final Pattern INTEGER = Pattern.compile("(?<![0-9])[0-9]{1,9}(?![0-9])");

  private Rules() {}

  /** Lower case (root locale), typographic apostrophes straightened, ends trimmed. */
  static String lower(String text) {
    return text.replace('\u2019', '\'').toLowerCase(Locale.ROOT).strip();
  }

  /** Length in UTF-8 bytes (the policy's tokens) of the trimmed response. */
  static int bytes(String response) {
    return response.strip().getBytes(StandardCharsets.UTF_8).length;
  }

  /** Whether {@code phrase} occurs in {@code lower} as whole words (not inside a longer word). */
  static boolean hasPhrase(String lower, String phrase) {
    int from = 0;
    while (true) {
      int at = lower.indexOf(phrase, from);
      if (at < 0) {
        return false;
      }
      int end = at + phrase.length();
      if ((at == 0 || !isWordChar(lower.charAt(at - 1)))
          && (end == lower.length() || !isWordChar(lower.charAt(end)))) {
        return true;
      }
      from = at + 1;
    }
  }

  static boolean hasAny(String lower, List<String> phrases) {
    for (String phrase : phrases) {
      if (hasPhrase(lower, phrase)) {
        return true;
      }
    }
    return false;
  }

  static boolean rude(String lower) {
    return hasAny(lower, RUDE);
  }

  static boolean polite(String lower) {
    return hasAny(lower, POLITE);
  }

  static boolean refusal(String lower) {
    return hasAny(lower, REFUSAL);
  }

  /** The first run of digits in the text, if any. */
  static OptionalLong firstInteger(String text) {
    Matcher m = INTEGER.matcher(text);
    return m.find() ? OptionalLong.of(Long.parseLong(m.group())) : OptionalLong.empty();
  }

  /** Whether any run of digits in the text equals {@code value}. */
  static boolean mentionsInteger(String text, long value) {
    Matcher m = INTEGER.matcher(text);
    while (m.find()) {
      if (Long.parseLong(m.group()) == value) {
        return true;
      }
    }
    return false;
  }

  /**
   * 1 up to {@code budget} bytes, then falling linearly to 0 at {@code budget + span} bytes: the
   * length penalty beyond what the answer needs.
   */
  static double concise(String response, int budget, int span) {
    int excess = Math.max(0, bytes(response) - budget);
    return Math.max(0.0, 1.0 - excess / (double) span);
  }

  static double clamp(double score) {
    return Math.max(0.0, Math.min(1.0, score));
  }

  private static boolean isWordChar(char c) {
    return Character.isLetterOrDigit(c);
  }
}
