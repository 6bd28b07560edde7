package dev.flywheel.policy.service;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.SftExample;
import dev.flywheel.policy.train.OfflineDpoTrainer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ranked comparison groups of {@code training.comparisons} that DPO rounds train and evaluate
 * on (read only when {@code ppo.algorithm=dpo}), in two bounded buffers split by the group's {@code
 * split}: the field the pair assembler sets by the platform's prompt-key rule ({@code PromptKeys},
 * {@code Splits}), so this is the reward trainer's split too — a prompt whose rankings evaluate a
 * reward model never trains a DPO policy either. The most recent {@code dpo.buffer-max-groups}
 * TRAIN groups and {@code dpo.eval-max-groups} EVAL groups are kept; older ones fall out.
 *
 * <p>Not thread-safe (the training loop owns it).
 */
final class ComparisonBuffer {

  private static final ChatTemplate CHAT = new ChatTemplate();

  /**
   * A usable group and where it was read.
   *
   * @param promptKey the pair assembler's prompt key ({@code Splits.promptKey})
   * @param turns the prompt conversation (ends with the user's turn)
   * @param responses the candidates' texts
   * @param pairs (winner, loser) indices into {@code responses}
   */
  record StoredGroup(
      int partition,
      long offset,
      String groupId,
      String promptKey,
      boolean heldOut,
      List<ChatTurn> turns,
      List<String> responses,
      List<int[]> pairs) {

    /** The group as the trainer takes it: chat-formatted candidates and their pairs. */
    OfflineDpoTrainer.RankedGroup ranked() {
      List<SftExample> candidates = new ArrayList<>(responses.size());
      for (String r : responses) {
        candidates.add(CHAT.sftExample(turns, r));
      }
      return new OfflineDpoTrainer.RankedGroup(candidates, pairs);
    }

    /** The prompt as generation input (ends with the ASSISTANT marker). */
    int[] promptTokens() {
      return CHAT.encodeForGeneration(turns);
    }
  }

  private final int maxTrain;
  private final int maxEval;
  private final Deque<StoredGroup> train = new ArrayDeque<>();
  private final Deque<StoredGroup> eval = new ArrayDeque<>();

  ComparisonBuffer(int maxTrain, int maxEval) {
    this.maxTrain = maxTrain;
    this.maxEval = maxEval;
  }

  /**
   * The group of a decoded event; {@link IllegalArgumentException} with the reason (the record's
   * dead letter) when it cannot be trained on: fewer than two responses, a response listed twice, a
   * pair naming an unknown response or one response twice, no pair at all, no prompt.
   */
  static StoredGroup of(ComparisonGroup g, int partition, long offset) {
    String id = g.getGroupId();
    List<ChatTurn> turns = InputRecords.turns(g.getTurns(), g.getPrompt());
    if (turns.isEmpty()) {
      throw new IllegalArgumentException("group " + id + " has no prompt turns");
    }
    List<RankedResponse> responses = g.getResponses();
    if (responses.size() < 2) {
      throw new IllegalArgumentException(
          "group " + id + " has " + responses.size() + " responses; a comparison needs 2");
    }
    Map<String, Integer> index = new HashMap<>();
    List<String> texts = new ArrayList<>();
    for (RankedResponse r : responses) {
      if (index.putIfAbsent(r.getResponseId(), texts.size()) != null) {
        throw new IllegalArgumentException(
            "group " + id + " lists response " + r.getResponseId() + " twice");
      }
      texts.add(r.getText());
    }
    List<int[]> pairs = new ArrayList<>();
    for (ComparisonPair p : g.getPairs()) {
      Integer w = index.get(p.getChosenResponseId());
      Integer l = index.get(p.getRejectedResponseId());
      if (w == null || l == null || w.equals(l)) {
        throw new IllegalArgumentException(
            "group "
                + id
                + " has a pair naming an unknown response or one response twice ("
                + p.getChosenResponseId()
                + " > "
                + p.getRejectedResponseId()
                + ")");
      }
      pairs.add(new int[] {w, l});
    }
    if (pairs.isEmpty()) {
      throw new IllegalArgumentException("group " + id + " has no comparison pairs (all tied?)");
    }
    return new StoredGroup(
        partition,
        offset,
        id,
        g.getPromptKey(),
        g.getSplit() == DataSplit.EVAL,
        List.copyOf(turns),
        List.copyOf(texts),
        List.copyOf(pairs));
  }

  /** Adds a group to its split's buffer; the oldest of that buffer falls out beyond its bound. */
  void add(StoredGroup group) {
    Deque<StoredGroup> buffer = group.heldOut() ? eval : train;
    buffer.addLast(group);
    while (buffer.size() > (group.heldOut() ? maxEval : maxTrain)) {
      buffer.removeFirst();
    }
  }

  /** The TRAIN groups held, oldest first. */
  List<StoredGroup> train() {
    return List.copyOf(train);
  }

  int trainSize() {
    return train.size();
  }

  int evalSize() {
    return eval.size();
  }

  /** The EVAL (held-out) groups held, oldest first. */
  List<StoredGroup> eval() {
    return List.copyOf(eval);
  }

  /**
   * TRAIN groups read at or after {@code until} (per partition; a partition it does not name counts
   * whole): the new data since a version whose training data ended there.
   */
  long trainSince(Map<Integer, Long> until) {
    return train.stream().filter(g -> g.offset() >= until.getOrDefault(g.partition(), 0L)).count();
  }

  /** Per partition, the first offset held in either buffer (where a round's data range starts). */
  Map<Integer, Long> firstOffsets() {
    Map<Integer, Long> out = new TreeMap<>();
    for (StoredGroup g : train) {
      out.merge(g.partition(), g.offset(), Math::min);
    }
    for (StoredGroup g : eval) {
      out.merge(g.partition(), g.offset(), Math::min);
    }
    return out;
  }
}
