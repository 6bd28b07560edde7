package dev.flywheel.serving.api;

import dev.flywheel.model.ChatTurn;
import java.util.List;

/**
 * A validated {@code POST /v1/chat/completions} body.
 *
 * @param turns the messages as chat turns (system and developer become SYSTEM)
 * @param prompt text of the last user message
 * @param temperature OpenAI's default is 1
 * @param topP OpenAI's default is 1
 * @param maxTokens max_completion_tokens, else max_tokens, else null (the room left in the context,
 *     at most the configured default)
 * @param maxTokensParam which of the two the value came from (for error messages)
 * @param seed null when the caller fixed none
 * @param conversationId metadata.conversation_id, or null
 */
public record ChatRequest(
    String model,
    List<ChatTurn> turns,
    String prompt,
    int n,
    float temperature,
    float topP,
    Integer maxTokens,
    String maxTokensParam,
    List<String> stop,
    Long seed,
    String user,
    boolean stream,
    boolean includeUsage,
    String conversationId) {}
