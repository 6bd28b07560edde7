package dev.flywheel.feedback.client;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.Role;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.Turn;
import dev.flywheel.schemas.Texts;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * The rules every feedback event must pass before it is published, whether it comes through the
 * gateway or straight from an app's producer: one implementation, so the two paths cannot drift
 * apart. Every violation is a {@link FeedbackValidationException} naming the field. Whether ranked
 * response ids exist in the transcript is NOT checked here: the pair assembler does that
 * downstream.
 */
public final class FeedbackRules {

  /**
   * Largest seed accepted in {@code SamplingParams.seed}: 2^53 − 1. Larger longs are valid Avro but
   * lose digits in JavaScript and other JSON clients (Confluent's JavaScript deserializer refuses
   * them).
   */
  public static final long MAX_SAFE_SEED = (1L << 53) - 1;

  /** Fewest and most responses one ranking may order (K). */
  public static final int MIN_K = 2;

  public static final int MAX_K = 9;

  // error codes
  public static final String MISSING_FIELD = "missing_field";
  public static final String EMPTY_TEXT = "empty_text";
  public static final String INVALID_VALUE = "invalid_value";
  public static final String K_OUT_OF_RANGE = "k_out_of_range";
  public static final String DUPLICATE_RESPONSE_ID = "duplicate_response_id";
  public static final String EMPTY_TIER = "empty_tier";
  public static final String UNKNOWN_ROLE = "unknown_role";
  public static final String BAD_TIMESTAMP = "bad_timestamp";
  public static final String TIMESTAMP_IN_FUTURE = "timestamp_in_future";
  public static final String PAYLOAD_TOO_LARGE = "payload_too_large";

  /**
   * An id or text longer than its limit ({@link Limits#maxIdLength()}, {@link
   * Limits#maxTextLength()}).
   */
  public static final String TOO_LONG = "too_long";

  /** An id or text holding NUL (U+0000) or a lone UTF-16 surrogate (which UTF-8 cannot encode). */
  public static final String INVALID_TEXT = "invalid_text";

  /**
   * Default longest id, in characters (UTF-16 code units, as Java and JavaScript count them). Ids
   * are Kafka record keys and idempotency-cache keys, held per remembered event: 128 covers UUIDs
   * (36), ULIDs (26), serving's completion and response ids (35) and an {@code Idempotency-Key}
   * with its {@code :<index>} suffix.
   */
  public static final int DEFAULT_MAX_ID_LENGTH = 128;

  /**
   * Default longest text (turn, prompt, response, demonstration, comment), in characters. With the
   * default event budget (512 KiB) a transcript whose prompt (stored twice: last turn and prompt)
   * and one response are all this long still fits.
   */
  public static final int DEFAULT_MAX_TEXT_LENGTH = 128 * 1024;

  /**
   * @param maxEventBytes largest Avro-encoded event accepted (stay below the broker's {@code
   *     message.max.bytes}, 1 MiB by default)
   * @param maxFutureSkew how far an event time may lie ahead of the receiver's clock
   * @param maxIdLength longest id (eventId, transcriptId, responseId, annotatorId, ...), in
   *     characters
   * @param maxTextLength longest text (turn text, prompt, response text, comment), in characters
   */
  public record Limits(
      int maxEventBytes, Duration maxFutureSkew, int maxIdLength, int maxTextLength) {
    public static final Limits DEFAULT = new Limits(512 * 1024, Duration.ofMinutes(5));

    public Limits {
      if (maxEventBytes < 1) {
        throw new IllegalArgumentException("maxEventBytes must be positive");
      }
      if (maxFutureSkew.isNegative()) {
        throw new IllegalArgumentException("maxFutureSkew must not be negative");
      }
      if (maxIdLength < 1 || maxTextLength < 1) {
        throw new IllegalArgumentException("maxIdLength and maxTextLength must be positive");
      }
    }

    /** The given event budget and skew with the default id and text lengths. */
    public Limits(int maxEventBytes, Duration maxFutureSkew) {
      this(maxEventBytes, maxFutureSkew, DEFAULT_MAX_ID_LENGTH, DEFAULT_MAX_TEXT_LENGTH);
    }
  }

  /** Longest part of a client's value quoted back in an error message. */
  private static final int MAX_QUOTED = 64;

  private static final Pattern EPOCH_MILLIS = Pattern.compile("-?\\d{1,15}");

  private FeedbackRules() {}

  // ---------------------------------------------------------------------------------------- events

  public static ChatTranscript validate(ChatTranscript t, Limits limits, Instant now) {
    requireId(t.getEventId(), "eventId", limits);
    requireId(t.getTranscriptId(), "transcriptId", limits);
    requireId(t.getConversationId(), "conversationId", limits);
    requireId(t.getAppId(), "appId", limits);
    if (t.getUserId() != null) {
      requireId(t.getUserId(), "userId", limits);
    }
    validateTurns(t.getTurns(), limits);
    String lastText = t.getTurns().get(t.getTurns().size() - 1).getText();
    requireText(t.getPrompt(), "prompt", limits);
    if (!t.getPrompt().equals(lastText)) {
      throw new FeedbackValidationException(
          INVALID_VALUE,
          "prompt",
          "prompt must be the text of the last (user) turn; leave it out to have it filled in");
    }
    List<CandidateResponse> responses = t.getResponses();
    if (responses == null || responses.isEmpty()) {
      throw new FeedbackValidationException(
          MISSING_FIELD, "responses", "responses must hold at least one candidate");
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < responses.size(); i++) {
      CandidateResponse r = responses.get(i);
      String path = "responses[" + i + "]";
      requireId(r.getResponseId(), path + ".responseId", limits);
      if (!ids.add(r.getResponseId())) {
        throw new FeedbackValidationException(
            DUPLICATE_RESPONSE_ID,
            path + ".responseId",
            "response id \"" + r.getResponseId() + "\" appears more than once");
      }
      requireText(r.getText(), path + ".text", limits);
      if (r.getPolicyVersion() != null && r.getPolicyVersion() < 0) {
        throw new FeedbackValidationException(
            INVALID_VALUE, path + ".policyVersion", "policyVersion must be >= 0");
      }
      if (r.getTokenCount() < 0) {
        throw new FeedbackValidationException(
            INVALID_VALUE, path + ".tokenCount", "tokenCount must be >= 0");
      }
      if (r.getFinishReason() != null) {
        requireId(r.getFinishReason(), path + ".finishReason", limits);
      }
      validateSampling(r.getSampling(), path + ".sampling");
    }
    checkTime(t.getEventTime(), "eventTime", limits, now);
    checkSize(t, limits);
    return t;
  }

  public static HumanRanking validate(HumanRanking r, Limits limits, Instant now) {
    requireId(r.getEventId(), "eventId", limits);
    requireId(r.getRankingId(), "rankingId", limits);
    requireId(r.getTranscriptId(), "transcriptId", limits);
    requireId(r.getAppId(), "appId", limits);
    validateTiers(r.getTiers(), limits);
    requireId(r.getAnnotatorId(), "annotatorId", limits);
    if (r.getAnnotatorPool() == null) {
      throw new FeedbackValidationException(
          MISSING_FIELD, "annotatorPool", "annotatorPool is required");
    }
    if (r.getComment() != null) {
      checkText(r.getComment(), "comment", limits.maxTextLength());
    }
    checkTime(r.getEventTime(), "eventTime", limits, now);
    checkSize(r, limits);
    return r;
  }

  public static Demonstration validate(Demonstration d, Limits limits, Instant now) {
    requireId(d.getEventId(), "eventId", limits);
    requireId(d.getDemonstrationId(), "demonstrationId", limits);
    requireId(d.getAppId(), "appId", limits);
    validateTurns(d.getTurns(), limits);
    requireText(d.getResponse(), "response", limits);
    requireId(d.getAnnotatorId(), "annotatorId", limits);
    checkTime(d.getEventTime(), "eventTime", limits, now);
    checkSize(d, limits);
    return d;
  }

  // ---------------------------------------------------------------------------------------- parts

  /**
   * Tiers, best first: each non-empty, response ids non-blank and distinct, K = all ids in 2..9.
   */
  public static void validateTiers(List<RankTier> tiers) {
    validateTiers(tiers, Limits.DEFAULT);
  }

  /** As {@link #validateTiers(List)}, with the id length of {@code limits}. */
  public static void validateTiers(List<RankTier> tiers, Limits limits) {
    if (tiers == null || tiers.isEmpty()) {
      throw new FeedbackValidationException(
          MISSING_FIELD,
          "tiers",
          "tiers is required: ordered groups of response ids, best first, e.g. [[\"r1\"], [\"r2\", \"r3\"]]");
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < tiers.size(); i++) {
      List<String> ids = tiers.get(i) == null ? null : tiers.get(i).getResponseIds();
      if (ids == null || ids.isEmpty()) {
        throw new FeedbackValidationException(
            EMPTY_TIER, "tiers[" + i + "]", "tier " + i + " is empty");
      }
      for (int j = 0; j < ids.size(); j++) {
        String path = "tiers[" + i + "][" + j + "]";
        requireId(ids.get(j), path, limits);
        if (!seen.add(ids.get(j))) {
          throw new FeedbackValidationException(
              DUPLICATE_RESPONSE_ID,
              path,
              "response id \"" + ids.get(j) + "\" is ranked more than once");
        }
      }
    }
    if (seen.size() < MIN_K || seen.size() > MAX_K) {
      throw new FeedbackValidationException(
          K_OUT_OF_RANGE,
          "tiers",
          "a ranking orders K = " + MIN_K + ".." + MAX_K + " responses; got K = " + seen.size());
    }
  }

  /**
   * A pairwise choice as tiers: A over B, B over A, or both in one tier. The ids' lengths are
   * checked when the ranking is validated; {@link #pairwiseTiers(String, String, Choice, Limits)}
   * checks them here, naming responseA/responseB.
   */
  public static List<RankTier> pairwiseTiers(String responseA, String responseB, Choice choice) {
    return pairwiseTiers(responseA, responseB, choice, null);
  }

  /**
   * As {@link #pairwiseTiers(String, String, Choice)}, checking the ids against {@code limits}
   * (null: not).
   */
  public static List<RankTier> pairwiseTiers(
      String responseA, String responseB, Choice choice, Limits limits) {
    requireId(responseA, "responseA", limits);
    requireId(responseB, "responseB", limits);
    if (responseA.equals(responseB)) {
      throw new FeedbackValidationException(
          DUPLICATE_RESPONSE_ID,
          "responseB",
          "responseA and responseB are the same response " + quote(responseA));
    }
    if (choice == null) {
      throw new FeedbackValidationException(
          MISSING_FIELD, "choice", "choice is required: one of \"A\", \"B\", \"tie\"");
    }
    return switch (choice) {
      case A -> List.of(tier(responseA), tier(responseB));
      case B -> List.of(tier(responseB), tier(responseA));
      case TIE -> List.of(new RankTier(List.of(responseA, responseB)));
    };
  }

  private static RankTier tier(String id) {
    return new RankTier(List.of(id));
  }

  public static void validateTurns(List<Turn> turns) {
    validateTurns(turns, Limits.DEFAULT);
  }

  /** As {@link #validateTurns(List)}, with the text length of {@code limits}. */
  public static void validateTurns(List<Turn> turns, Limits limits) {
    if (turns == null || turns.isEmpty()) {
      throw new FeedbackValidationException(
          MISSING_FIELD, "turns", "turns must hold at least the user's prompt");
    }
    for (int i = 0; i < turns.size(); i++) {
      Turn turn = turns.get(i);
      if (turn == null || turn.getRole() == null) {
        throw new FeedbackValidationException(
            MISSING_FIELD,
            "turns[" + i + "].role",
            "turns[" + i + "].role is required: one of system, user, assistant");
      }
      requireText(turn.getText(), "turns[" + i + "].text", limits);
    }
    Turn last = turns.get(turns.size() - 1);
    if (last.getRole() != Role.USER) {
      throw new FeedbackValidationException(
          INVALID_VALUE,
          "turns[" + (turns.size() - 1) + "].role",
          "the last turn must be the user's prompt (role user), not "
              + last.getRole().name().toLowerCase(Locale.ROOT));
    }
  }

  private static void validateSampling(SamplingParams s, String path) {
    if (s == null) {
      return;
    }
    if (!(s.getTemperature() >= 0) || Double.isInfinite(s.getTemperature())) {
      throw new FeedbackValidationException(
          INVALID_VALUE, path + ".temperature", "temperature must be a finite number >= 0");
    }
    if (!(s.getTopP() > 0 && s.getTopP() <= 1)) {
      throw new FeedbackValidationException(
          INVALID_VALUE, path + ".topP", "topP must be in (0, 1]");
    }
    if (s.getTopK() < 0) {
      throw new FeedbackValidationException(
          INVALID_VALUE, path + ".topK", "topK must be >= 0 (0 = off)");
    }
    if (s.getMaxTokens() < 1) {
      throw new FeedbackValidationException(
          INVALID_VALUE, path + ".maxTokens", "maxTokens must be >= 1");
    }
    if (s.getSeed() != null && Math.abs(s.getSeed()) > MAX_SAFE_SEED) {
      throw new FeedbackValidationException(
          INVALID_VALUE,
          path + ".seed",
          "seed must be within ±"
              + MAX_SAFE_SEED
              + " (2^53 − 1), the integers every JSON client reads exactly");
    }
  }

  /** Role by name, any case: {@code system}, {@code user}, {@code assistant}. */
  public static Role parseRole(String value, String field) {
    if (value == null || value.isBlank()) {
      throw new FeedbackValidationException(
          MISSING_FIELD, field, field + " is required: one of system, user, assistant");
    }
    try {
      return Role.valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new FeedbackValidationException(
          UNKNOWN_ROLE, field, "unknown role " + quote(value) + ": one of system, user, assistant");
    }
  }

  /** Annotator pool by name, any case: {@code training} (default when null) or {@code held_out}. */
  public static AnnotatorPool parsePool(String value, String field) {
    if (value == null) {
      return AnnotatorPool.TRAINING;
    }
    try {
      return AnnotatorPool.valueOf(value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new FeedbackValidationException(
          INVALID_VALUE,
          field,
          "unknown annotator pool " + quote(value) + ": one of training, held_out");
    }
  }

  /**
   * An event time: ISO-8601 with an offset ({@code 2025-05-01T12:00:00Z}, {@code ...+02:00}) or
   * epoch milliseconds as digits. Range checks are {@link #checkTime}'s.
   */
  public static Instant parseTime(String value, String field) {
    String v = value.trim();
    try {
      if (EPOCH_MILLIS.matcher(v).matches()) {
        return Instant.ofEpochMilli(Long.parseLong(v));
      }
      return OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeParseException | NumberFormatException e) {
      throw new FeedbackValidationException(
          BAD_TIMESTAMP,
          field,
          field
              + " "
              + quote(value)
              + " is not an ISO-8601 timestamp with offset (e.g. 2025-05-01T12:00:00Z) "
              + "nor epoch milliseconds");
    }
  }

  public static void checkTime(Instant time, String field, Limits limits, Instant now) {
    if (time == null) {
      throw new FeedbackValidationException(MISSING_FIELD, field, field + " is required");
    }
    if (time.isAfter(now.plus(limits.maxFutureSkew()))) {
      throw new FeedbackValidationException(
          TIMESTAMP_IN_FUTURE,
          field,
          field
              + " "
              + time
              + " is more than "
              + limits.maxFutureSkew().toSeconds()
              + " s ahead of the receiver's clock ("
              + now
              + ")");
    }
    if (time.isBefore(Instant.EPOCH)) { // not toEpochMilli(): it overflows before year -292 million
      throw new FeedbackValidationException(
          BAD_TIMESTAMP, field, field + " " + time + " is before 1970");
    }
  }

  /**
   * A non-blank id of at most {@code limits.maxIdLength()} characters (null limits: any length),
   * valid text.
   */
  static void requireId(String value, String field, Limits limits) {
    if (value == null || value.isBlank()) {
      throw new FeedbackValidationException(
          MISSING_FIELD, field, field + " is required and must not be blank");
    }
    checkText(value, field, limits == null ? Integer.MAX_VALUE : limits.maxIdLength());
  }

  static void requireText(String value, String field, Limits limits) {
    if (value == null) {
      throw new FeedbackValidationException(MISSING_FIELD, field, field + " is required");
    }
    checkText(value, field, limits.maxTextLength());
    if (value.isBlank()) {
      throw new FeedbackValidationException(EMPTY_TEXT, field, field + " must not be empty");
    }
  }

  /**
   * At most {@code maxLength} characters (UTF-16 code units), no NUL and no lone surrogate. A lone
   * surrogate (valid in a JSON escape such as {@code "\\ud800"}, or in a Java string) has no UTF-8
   * encoding: Avro would write it as {@code ?}, silently changing the text.
   */
  public static void checkText(String value, String field, int maxLength) {
    if (value.length() > maxLength) {
      throw new FeedbackValidationException(
          TOO_LONG,
          field,
          field + " is " + value.length() + " characters long; the limit is " + maxLength);
    }
    int bad = Texts.invalidCharAt(value);
    if (bad >= 0) {
      throw new FeedbackValidationException(
          INVALID_TEXT,
          field,
          field
              + " holds "
              + (value.charAt(bad) == 0
                  ? "NUL (U+0000)"
                  : String.format("a lone surrogate (U+%04X)", (int) value.charAt(bad)))
              + " at index "
              + bad
              + ": not allowed in text (UTF-8 has no lone surrogates; NUL ends strings elsewhere)");
    }
  }

  /**
   * A client's value for an error message: quoted, at most {@value #MAX_QUOTED} characters (with
   * its length if cut), NUL and lone surrogates shown as U+FFFD — an error never echoes megabytes,
   * nor text that cannot be encoded.
   */
  public static String quote(String value) {
    if (value == null) {
      return "null";
    }
    int end = Math.min(value.length(), MAX_QUOTED);
    if (end < value.length() && end > 0 && Character.isHighSurrogate(value.charAt(end - 1))) {
      end--;
    }
    StringBuilder out = new StringBuilder(end + 32).append('"');
    for (int i = 0; i < end; i++) {
      char c = value.charAt(i);
      boolean pair =
          Character.isHighSurrogate(c)
              && i + 1 < end
              && Character.isLowSurrogate(value.charAt(i + 1));
      if (pair) {
        out.append(c).append(value.charAt(++i));
      } else {
        out.append(c == 0 || Character.isSurrogate(c) ? '\uFFFD' : c);
      }
    }
    out.append('"');
    if (end < value.length()) {
      out.append("... (").append(value.length()).append(" characters)");
    }
    return out.toString();
  }

  // ---------------------------------------------------------------------------------------- size

  /** Rejects events whose Avro encoding exceeds the limit, naming the largest text field. */
  public static void checkSize(SpecificRecord event, Limits limits) {
    long size = encodedSize(event);
    if (size > limits.maxEventBytes()) {
      throw new FeedbackValidationException(
          PAYLOAD_TOO_LARGE,
          largestString(event),
          "event is " + size + " bytes encoded; the limit is " + limits.maxEventBytes() + " bytes");
    }
  }

  /** Size of the Avro binary encoding (without the 5-byte wire header). */
  public static long encodedSize(SpecificRecord event) {
    CountingStream counter = new CountingStream();
    try {
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(counter, null);
      new SpecificDatumWriter<SpecificRecord>(event.getSchema()).write(event, encoder);
      encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new FeedbackValidationException(
          INVALID_VALUE, null, "event cannot be encoded: " + e.getMessage());
    }
    return counter.count;
  }

  private static String largestString(IndexedRecord record) {
    List<Object[]> found = new ArrayList<>();
    collectStrings(record, "", found);
    String best = null;
    long bestSize = -1;
    for (Object[] f : found) {
      long size = (long) f[1];
      if (size > bestSize) {
        bestSize = size;
        best = (String) f[0];
      }
    }
    return best;
  }

  private static void collectStrings(Object value, String path, List<Object[]> out) {
    if (value instanceof CharSequence s) {
      out.add(new Object[] {path, (long) s.toString().getBytes(StandardCharsets.UTF_8).length});
    } else if (value instanceof IndexedRecord rec) {
      for (Schema.Field f : rec.getSchema().getFields()) {
        // RankTier's responseIds is rendered as a plain nested array in the JSON API
        String child =
            rec instanceof RankTier ? path : (path.isEmpty() ? f.name() : path + "." + f.name());
        collectStrings(rec.get(f.pos()), child, out);
      }
    } else if (value instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) {
        collectStrings(list.get(i), path + "[" + i + "]", out);
      }
    }
  }

  private static final class CountingStream extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
