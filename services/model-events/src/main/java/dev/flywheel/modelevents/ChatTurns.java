package dev.flywheel.modelevents;

import dev.flywheel.events.Turn;
import dev.flywheel.model.ChatTurn;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A conversation's turns between the event contracts ({@link Turn}, Avro, in {@code
 * ChatTranscript}, {@code ComparisonGroup}, {@code Demonstration}) and the model's {@link
 * ChatTurn}. The two role enums have the same constants (SYSTEM, USER, ASSISTANT) and map by name.
 */
public final class ChatTurns {

  private ChatTurns() {}

  /**
   * The model's turn of an event's. A {@code null} text (impossible for a turn read from a topic:
   * the field is a non-null string) becomes the empty text.
   */
  public static ChatTurn toChatTurn(Turn turn) {
    String text = turn.getText();
    return new ChatTurn(
        dev.flywheel.model.ChatRole.valueOf(turn.getRole().name()), text == null ? "" : text);
  }

  /** {@link #toChatTurn} of each, in order, as a new modifiable list. */
  public static List<ChatTurn> toChatTurns(Collection<Turn> turns) {
    List<ChatTurn> out = new ArrayList<>(turns.size());
    for (Turn t : turns) {
      out.add(toChatTurn(t));
    }
    return out;
  }

  /** The event's turn of the model's. */
  public static Turn toTurn(ChatTurn turn) {
    return new Turn(dev.flywheel.events.Role.valueOf(turn.role().name()), turn.text());
  }

  /** {@link #toTurn} of each, in order, as a new modifiable list. */
  public static List<Turn> toTurns(Collection<ChatTurn> turns) {
    List<Turn> out = new ArrayList<>(turns.size());
    for (ChatTurn t : turns) {
      out.add(toTurn(t));
    }
    return out;
  }
}
