package dev.flywheel.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Client of serving's OpenAI-compatible {@code POST /v1/chat/completions} (non-streaming).
 *
 * <p>What the simulator relies on (serving's {@code ChatController}): the completion {@code id} is
 * the transcript id serving published; choice {@code i} carries its response id in {@code
 * response_id} (serving's scheme is {@code <id>-<i>}, used when the field is absent); the answering
 * version is {@code model} / {@code system_fingerprint} ({@code policy-v<N>}) and the header {@code
 * X-Flywheel-Policy-Version}. A 200 is sent only after the transcript was acknowledged by Kafka, so
 * the ids are safe to rank at once.
 */
public final class ServingClient implements ChatCompletions {

  /** Serving's header naming the policy version that answered. */
  public static final String POLICY_VERSION_HEADER = "X-Flywheel-Policy-Version";

  private static final Pattern VERSION = Pattern.compile("policy-v(\\d{1,18})");

  /** One candidate. */
  public record Choice(int index, String responseId, String text, String finishReason) {}

  /**
   * A completion.
   *
   * @param transcriptId the completion id, which is the published transcript's id
   * @param model the model that answered ({@code policy-v<N>})
   * @param policyVersion the answering policy version, or null if serving did not say
   * @param choices the candidates in index order
   */
  public record Completion(
      String transcriptId, String model, Long policyVersion, List<Choice> choices) {
    public List<String> texts() {
      return choices.stream().map(Choice::text).toList();
    }
  }

  /**
   * A request.
   *
   * @param model alias ({@code flywheel}, {@code flywheel-live}) or pinned version ({@code
   *     policy-v3})
   * @param prompt the single user turn
   * @param n candidates
   * @param temperature 0 = greedy
   * @param maxTokens most tokens (bytes) per candidate
   * @param seed sampling seed, or null
   * @param user end-user id (serving keeps canary routing sticky per user), or null
   */
  public record Request(
      String model,
      String prompt,
      int n,
      double temperature,
      int maxTokens,
      Long seed,
      String user) {

    /** Serving refuses seeds outside ±(2^53 − 1), the integers every JSON client reads exactly. */
    public static final long MAX_SEED = (1L << 53) - 1;

    public Request {
      if (seed != null && Math.abs(seed) > MAX_SEED) {
        throw new IllegalArgumentException(
            "seed " + seed + " is outside ±(2^53 − 1); mask it with MAX_SEED");
      }
    }
  }

  private final URI endpoint;
  private final String apiKey;
  private final HttpJson http;

  ServingClient(URI baseUrl, String apiKey, HttpJson http) {
    this.endpoint = Endpoints.resolve(baseUrl, "v1/chat/completions");
    this.apiKey = apiKey;
    this.http = http;
  }

  @Override
  public Completion complete(Request request) throws IOException, InterruptedException {
    ObjectNode body = HttpJson.JSON.createObjectNode();
    body.put("model", request.model());
    ObjectNode message = body.putArray("messages").addObject();
    message.put("role", "user");
    message.put("content", request.prompt());
    body.put("n", request.n());
    body.put("temperature", request.temperature());
    body.put("max_tokens", request.maxTokens());
    if (request.seed() != null) {
      body.put("seed", request.seed());
    }
    if (request.user() != null) {
      body.put("user", request.user());
    }
    HttpJson.Reply reply = http.post(endpoint, apiKey, body);
    return parse(reply.body(), reply.headers().firstValue(POLICY_VERSION_HEADER).orElse(null));
  }

  static Completion parse(JsonNode body, String versionHeader) throws IOException {
    String id = body.path("id").asText("");
    if (id.isEmpty()) {
      throw new IOException("completion without an id: " + body);
    }
    String model = body.path("model").asText(null);
    Long version = versionOf(versionHeader);
    if (version == null) {
      version = versionOf(model);
    }
    if (version == null) {
      version = versionOf(body.path("system_fingerprint").asText(null));
    }
    List<Choice> choices = new ArrayList<>();
    JsonNode array = body.path("choices");
    for (int i = 0; i < array.size(); i++) {
      JsonNode c = array.get(i);
      int index = c.path("index").asInt(i);
      String responseId = c.path("response_id").asText("");
      if (responseId.isEmpty()) {
        responseId = id + "-" + index;
      }
      choices.add(
          new Choice(
              index,
              responseId,
              c.path("message").path("content").asText(""),
              c.path("finish_reason").asText(null)));
    }
    choices.sort((a, b) -> Integer.compare(a.index(), b.index()));
    return new Completion(id, model, version, List.copyOf(choices));
  }

  /** {@code 7}, {@code policy-v7} → 7; anything else → null. */
  static Long versionOf(String text) {
    if (text == null || text.isBlank()) {
      return null;
    }
    String t = text.strip();
    if (t.matches("\\d{1,18}")) {
      return Long.parseLong(t);
    }
    Matcher m = VERSION.matcher(t);
    return m.find() ? Long.parseLong(m.group(1)) : null;
  }
}
