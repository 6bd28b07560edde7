package dev.flywheel.model;

/**
 * Who speaks a turn of a conversation. Each role has its own marker token, see {@link
 * ByteTokenizer}.
 */
public enum ChatRole {
  SYSTEM,
  USER,
  ASSISTANT
}
