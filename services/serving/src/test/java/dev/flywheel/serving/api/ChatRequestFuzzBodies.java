package dev.flywheel.serving.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.model.ChatRole;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.testing.Gen;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chat completion bodies for property-based tests, as plain JSON values: valid requests with the
 * {@link ChatRequest} each must be read as, and objects from valid to garbage whose keys are mostly
 * the API's parameters.
 */
public final class ChatRequestFuzzBodies {

  /** The limits the tests configure (the service's defaults). */
  public static final int MAX_N = 9;

  public static final int MAX_TOKENS = 4096;
  public static final int MAX_STOP_LENGTH = 256;

  /** The parameters of OpenAI's API that the parser knows (accepts or refuses by name). */
  public static final List<String> KNOWN =
      List.of(
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

  private static final ObjectMapper RAW = new ObjectMapper();

  /**
   * Writes every non-ASCII character as a {@code \\u} escape, as a client may: a lone surrogate
   * survives only that way (raw, it is not UTF-8, and the body is refused before it is parsed).
   */
  static final ObjectMapper ESCAPED =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
          .build();

  private ChatRequestFuzzBodies() {}

  /** A valid body. */
  public static Map<String, Object> valid(Gen gen) {
    return validRequest(gen).body();
  }

  /**
   * The value as JSON bytes: non-ASCII characters escaped, or raw UTF-8 (a lone surrogate becomes
   * '?').
   */
  public static byte[] text(Object value, boolean escapeNonAscii) throws JsonProcessingException {
    return escapeNonAscii
        ? ESCAPED.writeValueAsBytes(value)
        : RAW.writeValueAsString(value).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A JSON object whose keys are mostly the API's parameters, with plausible or arbitrary values.
   */
  public static Map<String, Object> any(Gen gen) {
    if (gen.chance(0.5)) { // a valid request with other parameters added or replaced
      Map<String, Object> body = validRequest(gen).body();
      int extra = gen.between(1, 3);
      for (int i = 0; i < extra; i++) {
        String key = gen.chance(0.9) ? gen.pick(KNOWN) : gen.text(70);
        body.put(key, gen.chance(0.6) ? plausible(gen, key) : gen.json(3));
      }
      return body;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    if (gen.chance(0.8)) {
      body.put("model", gen.chance(0.8) ? "flywheel" : gen.json(1));
    }
    if (gen.chance(0.8)) {
      body.put("messages", gen.chance(0.8) ? plausible(gen, "messages") : gen.json(3));
    }
    int extra = gen.between(0, 5);
    for (int i = 0; i < extra; i++) {
      String key = gen.chance(0.85) ? gen.pick(KNOWN) : gen.text(70);
      body.put(key, gen.chance(0.6) ? plausible(gen, key) : gen.json(3));
    }
    return body;
  }

  /** A value of the kind the parameter takes, often valid, often just outside its range. */
  public static Object plausible(Gen gen, String key) {
    return switch (key) {
      case "model", "user", "service_tier" ->
          gen.chance(0.7) ? gen.text(gen.oneOf(20, 300)) : gen.json(1);
      case "messages" -> gen.list(0, 5, () -> message(gen));
      case "n", "max_tokens", "max_completion_tokens", "seed", "top_logprobs" -> gen.number();
      case "temperature", "top_p", "frequency_penalty", "presence_penalty" ->
          gen.chance(0.5) ? gen.oneOf(0, 1, 2, 0.5, -0.1, 2.0001, 1.0000001) : gen.number();
      case "stop" ->
          gen.chance(0.5)
              ? gen.text(gen.oneOf(5, 300))
              : gen.list(0, 6, () -> gen.text(gen.oneOf(5, 300)));
      case "stream", "logprobs", "store", "parallel_tool_calls" ->
          gen.chance(0.8) ? gen.chance(0.5) : gen.json(1);
      case "stream_options" ->
          object(gen.chance(0.8) ? "include_usage" : gen.text(10), gen.json(1));
      case "metadata" -> {
        Map<String, Object> metadata = new LinkedHashMap<>();
        int n = gen.oneOf(0, 2, 16, 17);
        for (int i = 0; i < n; i++) {
          metadata.put(
              i == 0 && gen.chance(0.5) ? "conversation_id" : gen.text(gen.oneOf(10, 70)),
              gen.chance(0.8) ? gen.text(gen.oneOf(30, 600)) : gen.json(1));
        }
        yield metadata;
      }
      case "tools", "functions", "logit_bias" ->
          gen.oneOf(List.of(), Map.of(), List.of(Map.of("type", "function")), gen.json(2));
      case "tool_choice", "function_call" -> gen.oneOf("none", "auto", gen.json(1));
      case "response_format" ->
          gen.oneOf(Map.of("type", "text"), Map.of("type", "json_object"), gen.json(2));
      case "modalities" ->
          gen.oneOf(List.of("text"), List.of("text", "audio"), "text", gen.json(2));
      default -> gen.json(2);
    };
  }

  private static Object message(Gen gen) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (gen.chance(0.95)) {
      m.put(
          "role",
          gen.chance(0.9)
              ? gen.oneOf("user", "user", "system", "developer", "assistant", "tool", "function")
              : gen.json(1));
    }
    if (gen.chance(0.95)) {
      m.put(
          "content",
          switch (gen.between(0, 5)) {
            case 0, 1, 2 -> gen.text(40);
            case 3 ->
                gen.list(
                    0,
                    3,
                    () ->
                        gen.chance(0.8)
                            ? object(
                                "type",
                                gen.oneOf("text", "text", "image_url"),
                                "text",
                                gen.chance(0.9) ? gen.text(20) : gen.json(1))
                            : gen.json(1));
            default -> gen.json(2);
          });
    }
    if (gen.chance(0.05)) {
      m.put(gen.oneOf("tool_calls", "function_call", "audio", "name"), gen.json(1));
    }
    return m;
  }

  /** A valid body and the request it must be read as. */
  public record Valid(Map<String, Object> body, ChatRequest expected) {}

  public static Valid validRequest(Gen gen) {
    Map<String, Object> body = new LinkedHashMap<>();
    String model =
        gen.chance(0.5)
            ? gen.oneOf("flywheel", "flywheel-live", "policy-v7")
            : gen.validText(1, 256);
    body.put("model", model);
    List<Object> messages = new ArrayList<>();
    List<ChatTurn> turns = new ArrayList<>();
    int count = gen.between(1, 5);
    int userAt = gen.between(0, count - 1);
    for (int i = 0; i < count; i++) {
      String roleName =
          i == userAt ? "user" : gen.oneOf("system", "developer", "user", "assistant");
      ChatRole role =
          switch (roleName) {
            case "user" -> ChatRole.USER;
            case "assistant" -> ChatRole.ASSISTANT;
            default -> ChatRole.SYSTEM;
          };
      String text;
      Object content;
      if (gen.chance(0.7)) {
        text = gen.chance(0.1) ? "" : gen.validText(1, 200);
        content = text;
      } else {
        List<String> parts = gen.list(1, 4, () -> gen.validText(1, 50));
        text = String.join("\n", parts);
        content = parts.stream().map(p -> Map.of("type", "text", "text", p)).toList();
      }
      messages.add(Map.of("role", roleName, "content", content));
      turns.add(new ChatTurn(role, text));
    }
    body.put("messages", messages);
    String prompt =
        turns.stream()
            .filter(t -> t.role() == ChatRole.USER)
            .reduce((a, b) -> b)
            .orElseThrow()
            .text();
    int n = gen.chance(0.5) ? 1 : gen.between(1, MAX_N);
    if (n != 1 || gen.chance(0.5)) {
      body.put("n", n);
    }
    float temperature = 1f;
    if (gen.chance(0.6)) {
      double t = gen.chance(0.3) ? gen.oneOf(0.0, 2.0, 1.0) : gen.nextDouble() * 2;
      body.put("temperature", t);
      temperature = (float) t;
    }
    float topP = 1f;
    if (gen.chance(0.4)) {
      double p = gen.chance(0.3) ? gen.oneOf(0.0, 1.0) : gen.nextDouble();
      body.put("top_p", p);
      topP = (float) p;
    }
    Integer maxTokens = null;
    String maxTokensParam = null;
    if (gen.chance(0.6)) {
      maxTokensParam = gen.oneOf("max_tokens", "max_completion_tokens");
      maxTokens = gen.chance(0.2) ? gen.oneOf(1, MAX_TOKENS) : gen.between(1, MAX_TOKENS);
      body.put(maxTokensParam, maxTokens);
    }
    List<String> stop = List.of();
    if (gen.chance(0.4)) {
      stop = gen.list(1, ChatRequestParser.MAX_STOP, () -> gen.validText(1, MAX_STOP_LENGTH));
      body.put("stop", stop.size() == 1 && gen.chance(0.5) ? stop.get(0) : stop);
    }
    Long seed = null;
    if (gen.chance(0.5)) {
      seed =
          gen.chance(0.3)
              ? gen.oneOf(ChatRequestParser.MAX_SAFE_SEED, -ChatRequestParser.MAX_SAFE_SEED, 0L)
              : gen.nextLong() >> 11;
      body.put("seed", seed);
    }
    String user = null;
    if (gen.chance(0.4)) {
      user = gen.validText(1, ChatRequestParser.MAX_USER_LENGTH);
      body.put("user", user);
    }
    boolean stream = gen.chance(0.5);
    if (stream || gen.chance(0.5)) {
      body.put("stream", stream);
    }
    boolean includeUsage = false;
    if (stream && gen.chance(0.5)) {
      includeUsage = gen.chance(0.5);
      body.put("stream_options", Map.of("include_usage", includeUsage));
    }
    String conversationId = null;
    if (gen.chance(0.3)) {
      conversationId = gen.validText(1, ChatRequestParser.MAX_METADATA_VALUE_LENGTH);
      body.put(
          "metadata", Map.of("conversation_id", conversationId, "source", gen.validText(1, 30)));
    }
    if (gen.chance(0.2)) {
      body.put(gen.oneOf("store", "parallel_tool_calls"), gen.chance(0.5));
    }
    if (gen.chance(0.2)) {
      body.put(gen.oneOf("frequency_penalty", "presence_penalty"), 0);
    }
    return new Valid(
        body,
        new ChatRequest(
            model,
            turns,
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
            conversationId));
  }

  /** A JSON object of the given pairs (values may be null). */
  public static Map<String, Object> object(Object... pairs) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.put((String) pairs[i], pairs[i + 1]);
    }
    return out;
  }
}
