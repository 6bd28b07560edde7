package dev.flywheel.serving.api;

import dev.flywheel.model.ChatRole;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.schemas.Texts;
import io.micronaut.json.tree.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validates a chat completion body the way OpenAI does: every problem is a 400 {@code
 * invalid_request_error} whose {@code param} names the offending parameter ({@code temperature},
 * {@code messages[1].role}, ...). Parameters this service cannot honour (tools, logprobs,
 * penalties, other response formats) are refused rather than silently ignored; parameters that
 * change nothing here ({@code store}, {@code service_tier}, ...) are accepted.
 */
final class ChatRequestParser {

  static final int MAX_STOP = 4;
  static final int MAX_USER_LENGTH = 256;
  static final int MAX_MODEL_LENGTH = 256;

  /** OpenAI's metadata limits: 16 pairs, keys up to 64 characters, values up to 512. */
  static final int MAX_METADATA_PAIRS = 16;

  static final int MAX_METADATA_KEY_LENGTH = 64;
  static final int MAX_METADATA_VALUE_LENGTH = 512;

  /** 2^53 − 1: the largest integer every JSON client (JavaScript's Number) reads exactly. */
  static final long MAX_SAFE_SEED = (1L << 53) - 1;

  private static final Set<String> KNOWN =
      Set.of(
          "model",
          "messages",
          "n",
          "temperature",
          "top_p",
          "max_tokens",
          "max_completion_tokens",
          "stop",
          "seed",
          "user",
          "stream",
          "stream_options",
          "metadata",
          "frequency_penalty",
          "presence_penalty",
          "logit_bias",
          "logprobs",
          "top_logprobs",
          "tools",
          "tool_choice",
          "functions",
          "function_call",
          "parallel_tool_calls",
          "response_format",
          "store",
          "service_tier",
          "modalities");

  private final int maxN;
  private final int maxTokensLimit;
  private final int maxStopLength;

  /**
   * @param maxN largest n
   * @param maxTokensLimit largest max_tokens / max_completion_tokens
   * @param maxStopLength longest stop sequence, in characters
   */
  ChatRequestParser(int maxN, int maxTokensLimit, int maxStopLength) {
    this.maxN = maxN;
    this.maxTokensLimit = maxTokensLimit;
    this.maxStopLength = maxStopLength;
  }

  ChatRequest parse(JsonNode body) {
    if (body == null || !body.isObject()) {
      throw OpenAiException.invalid(null, "The request body must be a JSON object.");
    }
    for (Map.Entry<String, JsonNode> e : body.entries()) {
      if (!KNOWN.contains(e.getKey())) {
        String name = shown(e.getKey());
        throw OpenAiException.invalid(name, "Unrecognized request argument supplied: " + name);
      }
    }
    String model = requiredString(body, "model");
    if (model.length() > MAX_MODEL_LENGTH) {
      throw OpenAiException.invalid(
          "model", "'model' is longer than " + MAX_MODEL_LENGTH + " characters.");
    }
    checkText(model, "model");
    List<ChatTurn> turns = messages(body.get("messages"));
    String prompt = null;
    for (ChatTurn turn : turns) {
      if (turn.role() == ChatRole.USER) {
        prompt = turn.text();
      }
    }
    if (prompt == null) {
      throw OpenAiException.invalid(
          "messages", "messages must contain at least one message with role 'user'.");
    }

    int n = optionalInt(body, "n", 1);
    if (n < 1 || n > maxN) {
      throw OpenAiException.invalid(
          "n", n + " is not a valid value for 'n': it must be between 1 and " + maxN + ".");
    }
    float temperature = (float) optionalNumber(body, "temperature", 1.0);
    if (temperature < 0 || temperature > 2) {
      throw OpenAiException.invalid(
          "temperature",
          temperature
              + " is less than the minimum of 0 or greater than "
              + "the maximum of 2 - 'temperature'");
    }
    float topP = (float) optionalNumber(body, "top_p", 1.0);
    if (topP < 0 || topP > 1) {
      throw OpenAiException.invalid(
          "top_p", topP + " is not a valid value for 'top_p': it must be between 0 and 1.");
    }
    Integer maxTokens = null;
    String maxTokensParam = null;
    for (String param : List.of("max_tokens", "max_completion_tokens")) {
      if (present(body, param)) {
        int value = optionalInt(body, param, 0);
        if (value < 1) {
          throw OpenAiException.invalid(
              param, value + " is less than the minimum of 1 - '" + param + "'");
        }
        if (value > maxTokensLimit) {
          throw OpenAiException.invalid(
              param,
              param
                  + " is too large: "
                  + value
                  + ". This server supports at most "
                  + maxTokensLimit
                  + " completion tokens, whereas you provided "
                  + value
                  + ".");
        }
        maxTokens = value; // max_completion_tokens, checked last, wins
        maxTokensParam = param;
      }
    }
    List<String> stop = stop(body.get("stop"), maxStopLength);
    Long seed = present(body, "seed") ? integral(body.get("seed"), "seed").longValueExact() : null;
    if (seed != null && Math.abs(seed) > MAX_SAFE_SEED) {
      // transcripts carry the seed as a JSON/Avro long: beyond 2^53 JavaScript and JSON clients
      // lose digits
      throw OpenAiException.invalid(
          "seed", seed + " is outside the safe integer range ±" + MAX_SAFE_SEED + " - 'seed'");
    }
    String user = optionalString(body, "user");
    if (user != null && user.length() > MAX_USER_LENGTH) {
      throw OpenAiException.invalid(
          "user", "'user' is longer than " + MAX_USER_LENGTH + " characters.");
    }
    if (user != null) {
      checkText(user, "user");
    }
    boolean stream = optionalBoolean(body, "stream", false);
    boolean includeUsage = false;
    if (present(body, "stream_options")) {
      JsonNode options = body.get("stream_options");
      if (!stream) {
        throw OpenAiException.invalid(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
      }
      if (!options.isObject()) {
        throw OpenAiException.invalid("stream_options", "'stream_options' must be an object.");
      }
      for (Map.Entry<String, JsonNode> e : options.entries()) {
        if (!e.getKey().equals("include_usage")) {
          throw OpenAiException.invalid(
              "stream_options." + e.getKey(), "Unrecognized stream option: " + e.getKey());
        }
      }
      includeUsage =
          optionalBoolean(options, "include_usage", false, "stream_options.include_usage");
    }
    String conversationId = null;
    if (present(body, "metadata")) {
      JsonNode metadata = body.get("metadata");
      if (!metadata.isObject()) {
        throw OpenAiException.invalid("metadata", "'metadata' must be an object of string values.");
      }
      if (metadata.size() > MAX_METADATA_PAIRS) {
        throw OpenAiException.invalid(
            "metadata", "'metadata' may hold at most " + MAX_METADATA_PAIRS + " pairs.");
      }
      for (Map.Entry<String, JsonNode> e : metadata.entries()) {
        if (e.getKey().length() > MAX_METADATA_KEY_LENGTH) {
          throw OpenAiException.invalid(
              "metadata",
              "metadata keys may have at most " + MAX_METADATA_KEY_LENGTH + " characters.");
        }
        String at = "metadata." + checkText(e.getKey(), "metadata");
        if (!e.getValue().isString()) {
          throw OpenAiException.invalid(at, "metadata values must be strings.");
        }
        if (e.getValue().getStringValue().length() > MAX_METADATA_VALUE_LENGTH) {
          throw OpenAiException.invalid(
              at, "metadata values may have at most " + MAX_METADATA_VALUE_LENGTH + " characters.");
        }
        checkText(e.getValue().getStringValue(), at);
      }
      JsonNode conversation = metadata.get("conversation_id");
      conversationId = conversation == null ? null : conversation.getStringValue();
    }
    unsupported(body);
    return new ChatRequest(
        model,
        List.copyOf(turns),
        prompt,
        n,
        temperature,
        topP,
        maxTokens,
        maxTokensParam,
        stop,
        seed,
        user,
        stream,
        includeUsage,
        conversationId);
  }

  /**
   * Parameters this service cannot honour: refused unless absent, null or at their neutral value.
   */
  private static void unsupported(JsonNode body) {
    for (String param : List.of("frequency_penalty", "presence_penalty")) {
      if (present(body, param) && optionalNumber(body, param, 0) != 0) {
        throw OpenAiException.invalid(
            param, "'" + param + "' is not supported by this server; omit it or use 0.");
      }
    }
    if (present(body, "logprobs") && optionalBoolean(body, "logprobs", false)) {
      throw OpenAiException.invalid("logprobs", "'logprobs' is not supported by this server.");
    }
    if (present(body, "top_logprobs")) {
      throw OpenAiException.invalid(
          "top_logprobs", "'top_logprobs' is not supported by this server.");
    }
    for (String param : List.of("tools", "functions", "logit_bias")) {
      JsonNode value = body.get(param);
      if (value != null && !value.isNull() && value.size() > 0) {
        throw OpenAiException.invalid(param, "'" + param + "' is not supported by this server.");
      }
    }
    for (String param : List.of("tool_choice", "function_call")) {
      JsonNode value = body.get(param);
      if (value != null
          && !value.isNull()
          && !(value.isString() && value.getStringValue().equals("none"))) {
        throw OpenAiException.invalid(param, "'" + param + "' is not supported by this server.");
      }
    }
    JsonNode format = body.get("response_format");
    if (format != null && !format.isNull()) {
      JsonNode type = format.isObject() ? format.get("type") : null;
      if (type == null || !type.isString() || !type.getStringValue().equals("text")) {
        throw OpenAiException.invalid(
            "response_format", "only response_format {\"type\": \"text\"} is supported.");
      }
    }
    JsonNode modalities = body.get("modalities");
    if (modalities != null && !modalities.isNull()) {
      if (!modalities.isArray()) { // values() of a scalar throws: that was a 500
        throw OpenAiException.invalid(
            "modalities", "'modalities' must be an array, e.g. [\"text\"].");
      }
      for (JsonNode m : modalities.values()) {
        if (!m.isString() || !m.getStringValue().equals("text")) {
          throw OpenAiException.invalid("modalities", "only the 'text' modality is supported.");
        }
      }
    }
  }

  private static List<ChatTurn> messages(JsonNode messages) {
    if (messages == null || messages.isNull()) {
      throw OpenAiException.invalid("messages", "Missing required parameter: 'messages'.");
    }
    if (!messages.isArray() || messages.size() == 0) {
      throw OpenAiException.invalid("messages", "'messages' must be a non-empty array.");
    }
    List<ChatTurn> turns = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      String at = "messages[" + i + "]";
      JsonNode message = messages.get(i);
      if (!message.isObject()) {
        throw OpenAiException.invalid(at, at + " must be an object.");
      }
      JsonNode roleNode = message.get("role");
      if (roleNode == null || !roleNode.isString()) {
        throw OpenAiException.invalid(
            at + ".role", "Missing required parameter: '" + at + ".role'.");
      }
      String roleName = roleNode.getStringValue();
      ChatRole role =
          switch (roleName) {
            case "system", "developer" -> ChatRole.SYSTEM;
            case "user" -> ChatRole.USER;
            case "assistant" -> ChatRole.ASSISTANT;
            case "tool", "function" ->
                throw OpenAiException.invalid(
                    at + ".role",
                    "messages with role '"
                        + roleName
                        + "' are not supported by this server (no tool calling).");
            default ->
                throw OpenAiException.invalid(
                    at + ".role",
                    "Invalid value: '"
                        + roleName
                        + "'. Supported values are: 'system', 'developer', 'user' and 'assistant'.");
          };
      for (String field : List.of("tool_calls", "function_call", "audio")) {
        JsonNode value = message.get(field);
        if (value != null && !value.isNull()) {
          throw OpenAiException.invalid(
              at + "." + field, "'" + field + "' is not supported by this server.");
        }
      }
      turns.add(new ChatTurn(role, content(message.get("content"), at + ".content")));
    }
    return turns;
  }

  /** A string, or an array of {"type":"text","text":...} parts (joined with newlines). */
  private static String content(JsonNode content, String at) {
    if (content == null || content.isNull()) {
      throw OpenAiException.invalid(at, "Missing required parameter: '" + at + "'.");
    }
    if (content.isString()) {
      return checkText(content.getStringValue(), at);
    }
    if (!content.isArray()) {
      throw OpenAiException.invalid(at, "'" + at + "' must be a string or an array of text parts.");
    }
    StringBuilder text = new StringBuilder();
    for (int j = 0; j < content.size(); j++) {
      String partAt = at + "[" + j + "]";
      JsonNode part = content.get(j);
      JsonNode type = part.isObject() ? part.get("type") : null;
      if (type == null || !type.isString()) {
        throw OpenAiException.invalid(
            partAt + ".type", "Missing required parameter: '" + partAt + ".type'.");
      }
      if (!type.getStringValue().equals("text")) {
        throw OpenAiException.invalid(
            partAt + ".type",
            "content parts of type '"
                + type.getStringValue()
                + "' are not supported by this server (text only).");
      }
      JsonNode partText = part.get("text");
      if (partText == null || !partText.isString()) {
        throw OpenAiException.invalid(
            partAt + ".text", "Missing required parameter: '" + partAt + ".text'.");
      }
      if (j > 0) {
        text.append('\n');
      }
      text.append(checkText(partText.getStringValue(), partAt + ".text"));
    }
    return text.toString();
  }

  private static List<String> stop(JsonNode stop, int maxLength) {
    if (stop == null || stop.isNull()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (stop.isString()) {
      out.add(stopSequence(stop.getStringValue(), "stop", maxLength));
    } else if (stop.isArray()) {
      if (stop.size() > MAX_STOP) {
        throw OpenAiException.invalid(
            "stop", "'stop' may hold at most " + MAX_STOP + " sequences.");
      }
      for (int i = 0; i < stop.size(); i++) {
        JsonNode s = stop.get(i);
        if (!s.isString()) {
          throw OpenAiException.invalid("stop", "'stop' must be a string or an array of strings.");
        }
        out.add(stopSequence(s.getStringValue(), "stop[" + i + "]", maxLength));
      }
    } else {
      throw OpenAiException.invalid("stop", "'stop' must be a string or an array of strings.");
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw OpenAiException.invalid("stop", "stop sequences must not be empty.");
    }
    return List.copyOf(out);
  }

  private static String stopSequence(String value, String param, int maxLength) {
    if (value.length() > maxLength) {
      throw OpenAiException.invalid(
          param,
          "'"
              + param
              + "' is "
              + value.length()
              + " characters long; a stop sequence may have at most "
              + maxLength
              + ".");
    }
    return checkText(value, param);
  }

  /**
   * Text without NUL (U+0000) and without lone UTF-16 surrogates. JSON can spell a lone surrogate
   * as an escape ({@code "\\ud800"}); it has no UTF-8 encoding, so the transcript would carry
   * {@code ?} instead.
   */
  static String checkText(String value, String param) {
    int bad = Texts.invalidCharAt(value);
    if (bad >= 0) {
      throw OpenAiException.invalid(
          param,
          "'"
              + param
              + "' holds "
              + (value.charAt(bad) == 0
                  ? "NUL (U+0000)"
                  : String.format("a lone surrogate (U+%04X)", (int) value.charAt(bad)))
              + " at index "
              + bad
              + ", which is not valid text.");
    }
    return value;
  }

  /** A client's name for an error: at most 64 characters, NUL and lone surrogates as U+FFFD. */
  static String shown(String value) {
    int end = Math.min(value.length(), 64);
    if (end < value.length() && Character.isHighSurrogate(value.charAt(end - 1))) {
      end--;
    }
    StringBuilder out = new StringBuilder(end + 3);
    for (int i = 0; i < end; i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < end
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        out.append(c).append(value.charAt(++i));
      } else {
        out.append(c == 0 || Character.isSurrogate(c) ? '\uFFFD' : c);
      }
    }
    return end < value.length() ? out.append("...").toString() : out.toString();
  }

  private static boolean present(JsonNode body, String param) {
    JsonNode value = body.get(param);
    return value != null && !value.isNull();
  }

  private static String requiredString(JsonNode body, String param) {
    JsonNode value = body.get(param);
    if (value == null || value.isNull()) {
      throw OpenAiException.invalid(param, "Missing required parameter: '" + param + "'.");
    }
    if (!value.isString() || value.getStringValue().isBlank()) {
      throw OpenAiException.invalid(param, "'" + param + "' must be a non-empty string.");
    }
    return value.getStringValue();
  }

  private static String optionalString(JsonNode body, String param) {
    JsonNode value = body.get(param);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isString()) {
      throw OpenAiException.invalid(param, "'" + param + "' must be a string.");
    }
    return value.getStringValue();
  }

  private static double optionalNumber(JsonNode body, String param, double fallback) {
    JsonNode value = body.get(param);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isNumber()) {
      throw OpenAiException.invalid(param, "'" + param + "' must be a number.");
    }
    double d = value.getDoubleValue();
    if (!Double.isFinite(d)) {
      throw OpenAiException.invalid(param, "'" + param + "' must be a finite number.");
    }
    return d;
  }

  private static int optionalInt(JsonNode body, String param, int fallback) {
    JsonNode value = body.get(param);
    if (value == null || value.isNull()) {
      return fallback;
    }
    BigDecimal d = integral(value, param);
    try {
      return d.intValueExact();
    } catch (ArithmeticException e) {
      throw OpenAiException.invalid(param, "'" + param + "' is out of range.");
    }
  }

  /**
   * An integral number within the 64-bit range. 1e400 (a double overflowing to infinity),
   * 1e999999999 and 99999999999999999999 are a 400 naming the parameter; nothing here expands a
   * huge exponent.
   */
  private static BigDecimal integral(JsonNode value, String param) {
    if (!value.isNumber()) {
      throw OpenAiException.invalid(param, "'" + param + "' must be an integer.");
    }
    Number number = value.getNumberValue();
    BigDecimal d;
    if (number instanceof BigDecimal b) {
      d = b;
    } else if (number instanceof BigInteger b) {
      d = new BigDecimal(b);
    } else if (number instanceof Double || number instanceof Float) {
      if (!Double.isFinite(number.doubleValue())) {
        throw OpenAiException.invalid(param, "'" + param + "' is out of range.");
      }
      d = new BigDecimal(number.doubleValue());
    } else {
      d = BigDecimal.valueOf(number.longValue());
    }
    if (d.signum() != 0 && d.precision() - d.scale() <= 0) { // |d| < 1, not 0: a fraction
      throw OpenAiException.invalid(param, "'" + param + "' must be an integer.");
    }
    if (d.precision() - d.scale() > 19) { // more than 19 integer digits: beyond the long range
      throw OpenAiException.invalid(param, "'" + param + "' is out of range.");
    }
    if (d.stripTrailingZeros().scale() > 0) {
      throw OpenAiException.invalid(param, "'" + param + "' must be an integer.");
    }
    try {
      d.longValueExact();
    } catch (ArithmeticException e) {
      throw OpenAiException.invalid(param, "'" + param + "' is out of range.");
    }
    return d;
  }

  private static boolean optionalBoolean(JsonNode body, String param, boolean fallback) {
    return optionalBoolean(body, param, fallback, param);
  }

  private static boolean optionalBoolean(
      JsonNode body, String param, boolean fallback, String name) {
    JsonNode value = body.get(param);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isBoolean()) {
      throw OpenAiException.invalid(name, "'" + name + "' must be a boolean.");
    }
    return value.getBooleanValue();
  }
}
