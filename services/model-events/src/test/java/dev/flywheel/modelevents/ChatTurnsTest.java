package dev.flywheel.modelevents;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.Turn;
import dev.flywheel.model.ChatTurn;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTurnsTest {

  @Test
  void everyRoleMapsToTheSameNamedRoleBothWays() {
    assertEquals(
        dev.flywheel.events.Role.values().length, dev.flywheel.model.ChatRole.values().length);
    for (dev.flywheel.events.Role role : dev.flywheel.events.Role.values()) {
      ChatTurn chat = ChatTurns.toChatTurn(new Turn(role, "text of " + role));
      assertEquals(role.name(), chat.role().name());
      assertEquals("text of " + role, chat.text());
      assertEquals(new Turn(role, "text of " + role), ChatTurns.toTurn(chat));
    }
  }

  @Test
  void listsKeepTheirOrderAndRoundTrip() {
    List<Turn> events =
        List.of(
            new Turn(dev.flywheel.events.Role.SYSTEM, "Be brief."),
            new Turn(dev.flywheel.events.Role.USER, "2+3?"),
            new Turn(dev.flywheel.events.Role.ASSISTANT, "5"),
            new Turn(dev.flywheel.events.Role.USER, "caf\u00e9 \ud83d\ude00"));
    List<ChatTurn> chat = ChatTurns.toChatTurns(events);
    assertEquals(
        List.of(
            ChatTurn.system("Be brief."),
            ChatTurn.user("2+3?"),
            ChatTurn.assistant("5"),
            ChatTurn.user("caf\u00e9 \ud83d\ude00")),
        chat);
    assertEquals(events, ChatTurns.toTurns(chat));
    assertEquals(List.of(), ChatTurns.toChatTurns(List.of()));

    // callers extend the list (e.g. a prompt-only group gets its prompt as the one user turn)
    List<ChatTurn> extended = ChatTurns.toChatTurns(List.of());
    extended.add(ChatTurn.user("prompt"));
    assertEquals(List.of(ChatTurn.user("prompt")), extended);
  }

  @Test
  void aMissingTextBecomesEmpty() {
    // the Avro field is a non-null string, so only a turn built in memory can lack it
    Turn noText = new Turn(dev.flywheel.events.Role.USER, null);
    assertEquals(ChatTurn.user(""), ChatTurns.toChatTurn(noText));
    assertEquals(Arrays.asList(ChatTurn.user("")), ChatTurns.toChatTurns(List.of(noText)));
  }
}
