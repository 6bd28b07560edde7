package dev.flywheel.model;

import java.util.Objects;

/**
 * One turn of a conversation.
 *
 * @param role who speaks
 * @param text what is said, as Unicode text (it is tokenised as UTF-8 bytes)
 */
public record ChatTurn(ChatRole role, String text) {
  public ChatTurn {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(text, "text");
  }

  public static ChatTurn system(String text) {
    return new ChatTurn(ChatRole.SYSTEM, text);
  }

  public static ChatTurn user(String text) {
    return new ChatTurn(ChatRole.USER, text);
  }

  public static ChatTurn assistant(String text) {
    return new ChatTurn(ChatRole.ASSISTANT, text);
  }
}
