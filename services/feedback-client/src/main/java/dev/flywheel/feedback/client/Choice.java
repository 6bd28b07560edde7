package dev.flywheel.feedback.client;

import java.util.Locale;

/** A pairwise preference between response A and response B: the K = 2 case of a ranking. */
public enum Choice {
  A,
  B,
  TIE;

  /** Parses {@code A}, {@code B} or {@code tie} (any case). */
  public static Choice parse(String value, String field) {
    if (value == null || value.isBlank()) {
      throw new FeedbackValidationException(
          FeedbackRules.MISSING_FIELD, field, field + " is required: one of \"A\", \"B\", \"tie\"");
    }
    return switch (value.trim().toUpperCase(Locale.ROOT)) {
      case "A" -> A;
      case "B" -> B;
      case "TIE" -> TIE;
      default ->
          throw new FeedbackValidationException(
              FeedbackRules.INVALID_VALUE,
              field,
              field + " must be one of \"A\", \"B\", \"tie\", not " + FeedbackRules.quote(value));
    };
  }
}
