package dev.flywheel.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Byte-level tokenizer: ids 0..255 are the UTF-8 bytes of the text, followed by six special tokens.
 *
 * <p>There is nothing to train and no unknown token: every string round-trips. Decoding skips
 * special tokens and replaces invalid or truncated UTF-8 with U+FFFD instead of failing (a model
 * can emit any byte sequence, and a generation cut at the length limit can end inside a character).
 * For streaming output use {@link StreamDecoder}, which holds back an incomplete trailing
 * character.
 *
 * <p>The class is immutable and thread-safe; {@link #INSTANCE} is the only layout there is. The
 * layout is still written into every model artifact ({@link #toJson()}) so that a loader can refuse
 * a model trained with a different one.
 */
public final class ByteTokenizer {

  /** Padding; never a training target, never attended to. */
  public static final int PAD = 256;

  /** Beginning of a sequence (first token of every chat-formatted sequence). */
  public static final int BOS = 257;

  /** End of a turn or of a sequence; generation stops on it. */
  public static final int EOS = 258;

  /** Marks the start of a system turn. */
  public static final int SYSTEM = 259;

  /** Marks the start of a user turn. */
  public static final int USER = 260;

  /** Marks the start of an assistant turn; a trailing one is the generation prompt. */
  public static final int ASSISTANT = 261;

  /** Number of ids: 256 bytes + 6 specials. */
  public static final int VOCAB_SIZE = 262;

  /** Format name written in {@link #toJson()}. */
  public static final String TYPE = "flywheel-byte-v1";

  public static final ByteTokenizer INSTANCE = new ByteTokenizer();

  private static final Map<String, Integer> SPECIALS = specials();

  private ByteTokenizer() {}

  public int vocabSize() {
    return VOCAB_SIZE;
  }

  public static boolean isSpecial(int id) {
    return id >= PAD && id < VOCAB_SIZE;
  }

  public static int roleMarker(ChatRole role) {
    return switch (role) {
      case SYSTEM -> SYSTEM;
      case USER -> USER;
      case ASSISTANT -> ASSISTANT;
    };
  }

  /** The role a marker token announces, or null if {@code id} is not a role marker. */
  public static ChatRole roleOf(int id) {
    return switch (id) {
      case SYSTEM -> ChatRole.SYSTEM;
      case USER -> ChatRole.USER;
      case ASSISTANT -> ChatRole.ASSISTANT;
      default -> null;
    };
  }

  /** UTF-8 bytes of {@code text} as ids 0..255 (no special tokens added). */
  public int[] encode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = bytes[i] & 0xFF;
    }
    return ids;
  }

  /** Text of the byte ids in {@code ids}; specials are skipped, malformed UTF-8 becomes U+FFFD. */
  public String decode(int[] ids) {
    return decode(ids, 0, ids.length);
  }

  public String decode(int[] ids, int from, int to) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(to - from);
    for (int i = from; i < to; i++) {
      int id = ids[i];
      if (id < 0 || id >= VOCAB_SIZE) {
        throw new IllegalArgumentException("token id out of range: " + id);
      }
      if (id < 256) {
        bytes.write(id);
      }
    }
    // String(byte[], UTF_8) replaces malformed and truncated sequences with U+FFFD.
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /** Human-readable rendering for logs and debugging: specials appear as {@code <|EOS|>} etc. */
  public String render(int[] ids) {
    StringBuilder out = new StringBuilder();
    int runStart = 0;
    for (int i = 0; i <= ids.length; i++) {
      if (i == ids.length || isSpecial(ids[i])) {
        out.append(decode(ids, runStart, i));
        if (i < ids.length) {
          out.append("<|").append(specialName(ids[i])).append("|>");
        }
        runStart = i + 1;
      }
    }
    return out.toString();
  }

  public static String specialName(int id) {
    for (Map.Entry<String, Integer> e : SPECIALS.entrySet()) {
      if (e.getValue() == id) {
        return e.getKey();
      }
    }
    throw new IllegalArgumentException("not a special token: " + id);
  }

  /** The layout as JSON, stored in model artifacts. */
  public String toJson() {
    ObjectNode json = ModelJson.MAPPER.createObjectNode();
    json.put("type", TYPE);
    json.put("vocabSize", VOCAB_SIZE);
    json.set("specialTokens", ModelJson.MAPPER.valueToTree(SPECIALS));
    return json.toString();
  }

  /**
   * Reads a layout written by {@link #toJson()}.
   *
   * @throws IllegalArgumentException if it describes a different tokenizer than this one
   */
  public static ByteTokenizer fromJson(String json) {
    JsonNode parsed;
    try {
      parsed = ModelJson.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("unreadable tokenizer JSON: " + e.getOriginalMessage(), e);
    }
    if (parsed == null || !parsed.isObject()) {
      throw new IllegalArgumentException("tokenizer JSON is not an object: " + json);
    }
    String type = parsed.has("type") ? parsed.get("type").asText() : "(none)";
    if (!TYPE.equals(type)) {
      throw new IllegalArgumentException(
          "unsupported tokenizer type " + type + ", expected " + TYPE);
    }
    JsonNode specials = parsed.get("specialTokens");
    boolean same =
        parsed.path("vocabSize").isInt()
            && parsed.get("vocabSize").asInt() == VOCAB_SIZE
            && specials != null
            && specials.isObject()
            && specials.size() == SPECIALS.size();
    for (Map.Entry<String, Integer> e : SPECIALS.entrySet()) {
      same &=
          specials != null
              && specials.path(e.getKey()).isInt()
              && specials.get(e.getKey()).asInt() == e.getValue();
    }
    if (!same) {
      throw new IllegalArgumentException("tokenizer layout differs from " + TYPE + ": " + json);
    }
    return INSTANCE;
  }

  private static Map<String, Integer> specials() {
    Map<String, Integer> m = new LinkedHashMap<>();
    m.put("PAD", PAD);
    m.put("BOS", BOS);
    m.put("EOS", EOS);
    m.put("SYSTEM", SYSTEM);
    m.put("USER", USER);
    m.put("ASSISTANT", ASSISTANT);
    return Collections.unmodifiableMap(m);
  }

  /**
   * Incremental decoder for streaming generated tokens to a client: {@link #push} returns the text
   * completed by one more token and keeps the bytes of a character that is not complete yet. Not
   * thread-safe: one per stream.
   */
  public static final class StreamDecoder {
    private final CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private final ByteBuffer pending = ByteBuffer.allocate(8);
    private final CharBuffer chars = CharBuffer.allocate(8);

    /** Text completed by {@code id} (empty for specials and for the first bytes of a character). */
    public String push(int id) {
      if (id < 0 || id >= VOCAB_SIZE) {
        throw new IllegalArgumentException("token id out of range: " + id);
      }
      if (id >= 256) {
        return "";
      }
      pending.put((byte) id);
      return drain(false);
    }

    /** Flushes what is left at the end of the stream (an incomplete character becomes U+FFFD). */
    public String finish() {
      String tail = drain(true);
      decoder.reset();
      return tail;
    }

    private String drain(boolean endOfInput) {
      pending.flip();
      chars.clear();
      decoder.decode(pending, chars, endOfInput);
      if (endOfInput) {
        decoder.flush(chars);
      }
      pending.compact();
      chars.flip();
      return chars.toString();
    }
  }
}
