package dev.flywheel.serving.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * The JSON shapes of OpenAI's Chat Completions and Models APIs, plus Flywheel's documented extras.
 */
public final class OpenAiTypes {

  private OpenAiTypes() {}

  /** {@code object: "chat.completion"}. */
  @Serdeable
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record ChatCompletion(
      String id,
      String object,
      long created,
      String model,
      @JsonProperty("system_fingerprint") String systemFingerprint,
      List<Choice> choices,
      Usage usage) {}

  /**
   * One candidate. {@code response_id} (a Flywheel extra, always {@code <id>-<index>}) is the id of
   * the candidate in the published transcript: what a ranking references.
   */
  @Serdeable
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Choice(
      int index,
      Message message,
      @Nullable String logprobs,
      @JsonProperty("finish_reason") String finishReason,
      @JsonProperty("response_id") String responseId) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Message(String role, String content, @Nullable String refusal) {}

  @Serdeable
  public record Usage(
      @JsonProperty("prompt_tokens") int promptTokens,
      @JsonProperty("completion_tokens") int completionTokens,
      @JsonProperty("total_tokens") int totalTokens) {}

  /** {@code object: "chat.completion.chunk"}: one server-sent event of a streamed completion. */
  @Serdeable
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record ChatCompletionChunk(
      String id,
      String object,
      long created,
      String model,
      @JsonProperty("system_fingerprint") String systemFingerprint,
      List<ChunkChoice> choices,
      @JsonInclude(JsonInclude.Include.NON_ABSENT) @Nullable Usage usage) {}

  /**
   * A delta of one candidate; {@code response_id} is sent with the candidate's first (role) chunk.
   */
  @Serdeable
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record ChunkChoice(
      int index,
      Delta delta,
      @Nullable String logprobs,
      @JsonProperty("finish_reason") @Nullable String finishReason,
      @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("response_id") @Nullable
          String responseId) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Delta(@Nullable String role, @Nullable String content) {}

  /** {@code GET /v1/models}. */
  @Serdeable
  public record ModelList(String object, List<ModelInfo> data) {}

  /**
   * One model. Flywheel extras: {@code version} (the policy version it is or points to), {@code
   * status} (LIVE, CANDIDATE, ROLLED_BACK...), {@code role} (live, canary, standby, or alias).
   */
  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ModelInfo(
      String id,
      String object,
      long created,
      @JsonProperty("owned_by") String ownedBy,
      @Nullable Long version,
      @Nullable String status,
      @Nullable String role) {}
}
