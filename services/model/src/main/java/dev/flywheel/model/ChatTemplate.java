package dev.flywheel.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns conversations into token sequences and back.
 *
 * <pre>
 *   BOS  SYSTEM text EOS  USER text EOS  ASSISTANT text EOS ...
 * </pre>
 *
 * Every turn is its role marker, the UTF-8 bytes of its text, and EOS. A generation prompt is the
 * conversation followed by a bare ASSISTANT marker; the model answers and ends its turn with EOS,
 * which is where sampling stops.
 */
public final class ChatTemplate {

  private final ByteTokenizer tokenizer;

  public ChatTemplate(ByteTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  public ChatTemplate() {
    this(ByteTokenizer.INSTANCE);
  }

  /** BOS followed by every turn (marker, text, EOS). */
  public int[] encode(List<ChatTurn> turns) {
    IntList out = new IntList();
    out.add(ByteTokenizer.BOS);
    for (ChatTurn turn : turns) {
      out.add(ByteTokenizer.roleMarker(turn.role()));
      out.addAll(tokenizer.encode(turn.text()));
      out.add(ByteTokenizer.EOS);
    }
    return out.toArray();
  }

  /** {@link #encode} plus a trailing ASSISTANT marker: what to feed a policy to get its reply. */
  public int[] encodeForGeneration(List<ChatTurn> turns) {
    int[] context = encode(turns);
    int[] prompt = Arrays.copyOf(context, context.length + 1);
    prompt[context.length] = ByteTokenizer.ASSISTANT;
    return prompt;
  }

  /**
   * An SFT example from a conversation whose last turn is the assistant's reply to learn: the
   * prompt is every earlier turn plus the ASSISTANT marker, the response is the reply's bytes plus
   * EOS.
   */
  public SftExample sftExample(List<ChatTurn> conversation) {
    if (conversation.isEmpty()
        || conversation.get(conversation.size() - 1).role() != ChatRole.ASSISTANT) {
      throw new IllegalArgumentException(
          "the last turn of an SFT conversation must be the assistant's");
    }
    List<ChatTurn> context = conversation.subList(0, conversation.size() - 1);
    return sftExample(context, conversation.get(conversation.size() - 1).text());
  }

  /** An SFT example teaching {@code response} as the assistant's reply to {@code context}. */
  public SftExample sftExample(List<ChatTurn> context, String response) {
    return new SftExample(encodeForGeneration(context), responseTokens(response));
  }

  /** Bytes of an assistant reply followed by EOS, as the model should generate it. */
  public int[] responseTokens(String response) {
    int[] bytes = tokenizer.encode(response);
    int[] tokens = Arrays.copyOf(bytes, bytes.length + 1);
    tokens[bytes.length] = ByteTokenizer.EOS;
    return tokens;
  }

  /**
   * Parses a token sequence back into turns. Tolerant of what models produce: a turn without its
   * EOS runs to the next marker or the end; bytes outside any turn, BOS and PAD are ignored; a
   * trailing bare ASSISTANT marker (a generation prompt) yields no turn.
   */
  public List<ChatTurn> decode(int[] tokens) {
    List<ChatTurn> turns = new ArrayList<>();
    ChatRole role = null;
    int textStart = 0;
    for (int i = 0; i <= tokens.length; i++) {
      int id = i < tokens.length ? tokens[i] : ByteTokenizer.EOS;
      ChatRole marker = ByteTokenizer.roleOf(id);
      boolean endsTurn = id == ByteTokenizer.EOS || marker != null;
      if (endsTurn
          && role != null
          && !(i == tokens.length && i == textStart && role == ChatRole.ASSISTANT)) {
        turns.add(new ChatTurn(role, tokenizer.decode(tokens, textStart, i)));
        role = null;
      }
      if (marker != null) {
        role = marker;
        textStart = i + 1;
      }
    }
    return turns;
  }

  /** Minimal growable int array, to keep encoding free of boxing. */
  private static final class IntList {
    private int[] data = new int[64];
    private int size;

    void add(int v) {
      if (size == data.length) {
        data = Arrays.copyOf(data, size * 2);
      }
      data[size++] = v;
    }

    void addAll(int[] values) {
      for (int v : values) {
        add(v);
      }
    }

    int[] toArray() {
      return Arrays.copyOf(data, size);
    }
  }
}
