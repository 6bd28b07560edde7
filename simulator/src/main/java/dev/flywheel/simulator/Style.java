package dev.flywheel.simulator;

/** How a synthetic writer answers a prompt. Only {@link #GOOD} is what the gold scorer wants. */
public enum Style {
  /** The ideal answer: correct, polite, as short as the answer allows, in one consistent format. */
  GOOD,
  /** Correct and polite, but padded with words nobody asked for. */
  VERBOSE,
  /** Right content in a rude tone (or a rude refusal). */
  IMPOLITE,
  /**
   * Wrong content: a wrong number or word, the wrong speech act, complying with an unsafe request
   * or refusing a safe one.
   */
  WRONG;

  /** The imperfect styles, in the order demonstrations cycle through them. */
  static final Style[] IMPERFECT = {VERBOSE, IMPOLITE, WRONG};
}
