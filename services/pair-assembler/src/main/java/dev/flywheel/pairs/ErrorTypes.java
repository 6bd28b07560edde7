package dev.flywheel.pairs;

/**
 * The {@code errorType} values this service puts on dead letters (besides the serde's {@link
 * dev.flywheel.schemas.serde.AvroSerdeException.Problem} names for undecodable records).
 */
public final class ErrorTypes {

  private ErrorTypes() {}

  /** No transcript with the ranking's transcriptId arrived within the grace period. */
  public static final String ORPHAN_RANKING = "ORPHAN_RANKING";

  /** The ranking names a response id the transcript does not hold. */
  public static final String UNKNOWN_RESPONSE_ID = "UNKNOWN_RESPONSE_ID";

  /** The ranking names one response id more than once. */
  public static final String DUPLICATE_RESPONSE_ID = "DUPLICATE_RESPONSE_ID";

  /** All ranked responses are tied (fewer than two non-empty tiers): no pair to learn from. */
  public static final String NO_PAIRS = "NO_PAIRS";

  /** The ranking holds K responses with K outside 2..9. */
  public static final String K_OUT_OF_RANGE = "K_OUT_OF_RANGE";

  /** The transcript holds one response id twice: rankings of it would be ambiguous. */
  public static final String INVALID_TRANSCRIPT = "INVALID_TRANSCRIPT";

  /**
   * The ranking's app is not the app of the transcript it names: one app may not rank another's
   * transcripts.
   */
  public static final String CROSS_APP_REFERENCE = "CROSS_APP_REFERENCE";

  /**
   * A transcript id another app already used: the first owner keeps it, the second transcript is
   * refused.
   */
  public static final String TRANSCRIPT_ID_TAKEN = "TRANSCRIPT_ID_TAKEN";

  /** A record without a value (tombstone) on an event topic. */
  public static final String NULL_VALUE = "NULL_VALUE";

  /** Undecodable, and the serde gave no more precise problem. */
  public static final String UNDECODABLE = "UNDECODABLE";

  /**
   * An unexpected exception while processing the record (a bug): caught by the processing handler.
   */
  public static final String PROCESSING_ERROR = "PROCESSING_ERROR";
}
