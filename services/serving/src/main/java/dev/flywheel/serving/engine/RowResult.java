package dev.flywheel.serving.engine;

/**
 * What one row produced.
 *
 * @param text the response text (stop sequence and end-of-turn token excluded)
 * @param tokenCount tokens sampled, the end-of-turn token included
 * @param finishReason why it ended
 */
public record RowResult(String text, int tokenCount, FinishReason finishReason) {

  /** OpenAI's finish reasons. */
  public enum FinishReason {
    /** The model ended its turn (EOS) or a stop sequence was produced. */
    STOP("stop"),
    /** max_tokens or the context length was reached. */
    LENGTH("length");

    private final String wire;

    FinishReason(String wire) {
      this.wire = wire;
    }

    /** As OpenAI spells it: {@code stop}, {@code length}. */
    public String wire() {
      return wire;
    }
  }
}
