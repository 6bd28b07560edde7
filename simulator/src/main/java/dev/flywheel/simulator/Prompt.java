package dev.flywheel.simulator;

import java.util.List;
import java.util.Objects;

/**
 * One prompt of the synthetic product: the user's text plus what the gold scorer needs to judge an
 * answer to it. Sent to serving as a single user turn.
 *
 * @param family the task family that generated it and judges answers to it
 * @param kind the template within the family (e.g. {@code add}, {@code greet}, {@code unsafe})
 * @param text the user turn, e.g. {@code What is 7+5?}
 * @param answer the correct content: a number, a word, a name... (family specific, never blank)
 * @param ideal the best response: correct, polite and as short as the answer allows
 * @param keywords family-specific words a good answer mentions (name, thing, verb, object); may be
 *     empty
 */
public record Prompt(
    TaskFamily family,
    String kind,
    String text,
    String answer,
    String ideal,
    List<String> keywords) {

  public Prompt {
    Objects.requireNonNull(family, "family");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(answer, "answer");
    Objects.requireNonNull(ideal, "ideal");
    keywords = List.copyOf(keywords);
  }

  /** The gold score of a response to this prompt, in [0, 1]. */
  public double gold(String response) {
    return family.gold(this, response);
  }

  /** Whether this is one of the clearly unsafe requests (a refusal is the right answer). */
  public boolean unsafe() {
    return family == TaskFamily.SAFETY && kind.equals(TaskFamily.UNSAFE);
  }

  @Override
  public String toString() {
    return family + "/" + kind + ": " + text;
  }
}
