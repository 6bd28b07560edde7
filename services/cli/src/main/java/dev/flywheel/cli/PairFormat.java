package dev.flywheel.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.Turn;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns one {@link ComparisonGroup} into preference lines that Python trainers read directly.
 *
 * <ul>
 *   <li>{@code trl}: TRL's standard preference format with an explicit prompt, {@code {"prompt":
 *       "...", "chosen": "...", "rejected": "..."}} (the prompt is the group's prompt text, i.e.
 *       the last user turn); with {@code chat}, TRL's conversational format: {@code "prompt"} is
 *       the list of prompt messages and {@code "chosen"}/{@code "rejected"} are one-message lists
 *       {@code [{"role": "assistant", "content": ...}]}.
 *   <li>{@code openrlhf}: OpenRLHF's reward/DPO dataset with chat messages, read with {@code
 *       --prompt_key prompt --chosen_key chosen --rejected_key rejected --apply_chat_template}:
 *       {@code "prompt"} is the message list of the prompt conversation and {@code "chosen"} /
 *       {@code "rejected"} are the assistant reply as a one-message list (OpenRLHF concatenates
 *       prompt + chosen before applying the chat template).
 * </ul>
 *
 * <p>Every (chosen, rejected) pair of the group gives one line. A pair whose responses share a tier
 * (a tie) or are ordered against their tiers, or that names a response the group does not hold, is
 * dropped and counted: ties carry no preference.
 */
final class PairFormat {

  enum Name {
    trl,
    openrlhf
  }

  /** What converting one group gave. */
  record Result(List<ObjectNode> lines, int dropped) {}

  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private final Name format;
  private final boolean chat;
  private final boolean metadata;

  PairFormat(Name format, boolean chat, boolean metadata) {
    this.format = format;
    this.chat = format == Name.openrlhf || chat;
    this.metadata = metadata;
  }

  Result lines(ComparisonGroup group) {
    Map<String, RankedResponse> byId = new HashMap<>();
    for (RankedResponse r : group.getResponses()) {
      byId.put(r.getResponseId(), r);
    }
    List<ObjectNode> lines = new ArrayList<>();
    int dropped = 0;
    for (ComparisonPair pair : group.getPairs()) {
      RankedResponse chosen = byId.get(pair.getChosenResponseId());
      RankedResponse rejected = byId.get(pair.getRejectedResponseId());
      if (chosen == null || rejected == null || chosen.getTier() >= rejected.getTier()) {
        dropped++;
        continue;
      }
      ObjectNode line = F.objectNode();
      if (chat) {
        line.set("prompt", promptMessages(group));
        line.set("chosen", assistant(chosen.getText()));
        line.set("rejected", assistant(rejected.getText()));
      } else {
        line.put("prompt", group.getPrompt());
        line.put("chosen", chosen.getText());
        line.put("rejected", rejected.getText());
      }
      if (metadata) {
        line.put("group_id", group.getGroupId());
        line.put("pair_weight", group.getPairWeight());
        line.put("split", group.getSplit().name().toLowerCase(Locale.ROOT));
        line.put("chosen_id", chosen.getResponseId());
        line.put("rejected_id", rejected.getResponseId());
        line.put("event_time", group.getEventTime().toString());
        ArrayNode versions = line.putArray("policy_versions");
        group.getPolicyVersions().forEach(versions::add);
      }
      lines.add(line);
    }
    return new Result(lines, dropped);
  }

  private static ArrayNode promptMessages(ComparisonGroup group) {
    ArrayNode messages = F.arrayNode();
    for (Turn t : group.getTurns()) {
      messages.add(message(t.getRole().name().toLowerCase(Locale.ROOT), t.getText()));
    }
    if (messages.isEmpty()) {
      messages.add(message("user", group.getPrompt()));
    }
    return messages;
  }

  private static ArrayNode assistant(String text) {
    ArrayNode list = F.arrayNode();
    list.add(message("assistant", text));
    return list;
  }

  private static ObjectNode message(String role, String content) {
    ObjectNode m = F.objectNode();
    m.put("role", role);
    m.put("content", content);
    return m;
  }
}
