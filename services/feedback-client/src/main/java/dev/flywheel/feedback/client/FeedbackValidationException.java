package dev.flywheel.feedback.client;

/**
 * A feedback event broke one of the rules in {@link FeedbackRules}. {@link #code()} is stable and
 * machine-readable ({@code k_out_of_range}, {@code empty_text}, ...); {@link #field()} is the path
 * of the offending field as the JSON API spells it ({@code tiers}, {@code turns[2].role}, {@code
 * responses[0].text}).
 */
public class FeedbackValidationException extends IllegalArgumentException {

  private final String code;
  private final String field;

  public FeedbackValidationException(String code, String field, String message) {
    super(message);
    this.code = code;
    this.field = field;
  }

  public String code() {
    return code;
  }

  public String field() {
    return field;
  }

  /** The same problem, with the field path prefixed (e.g. {@code items[3].}) for batch requests. */
  public FeedbackValidationException prefixed(String prefix) {
    return new FeedbackValidationException(
        code, field == null || field.isEmpty() ? stripDot(prefix) : prefix + field, getMessage());
  }

  private static String stripDot(String prefix) {
    return prefix.endsWith(".") ? prefix.substring(0, prefix.length() - 1) : prefix;
  }

  @Override
  public String toString() {
    return "FeedbackValidationException{" + code + ", field=" + field + ": " + getMessage() + "}";
  }
}
