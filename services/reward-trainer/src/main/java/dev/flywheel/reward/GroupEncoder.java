package dev.flywheel.reward;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.modelevents.ChatTurns;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@link ComparisonGroup} into model input: each response becomes {@code BOS (ROLE text
 * EOS)*} of the prompt turns followed by {@code ASSISTANT response EOS} (the reward model reads its
 * score at that final EOS). Sequences longer than the model's context keep their LAST {@code
 * contextLength} tokens: the response and its end matter most, the start of a long prompt least.
 */
public final class GroupEncoder {

  /** A group the trainer cannot use; it goes to the dead-letter topic with this reason. */
  public static final class InvalidGroupException extends Exception {
    public InvalidGroupException(String message) {
      super(message);
    }
  }

  private final ChatTemplate chat = new ChatTemplate(ByteTokenizer.INSTANCE);
  private final int contextLength;

  public GroupEncoder(int contextLength) {
    this.contextLength = contextLength;
  }

  public EncodedGroup encode(ComparisonGroup group, int partition, long offset)
      throws InvalidGroupException {
    List<RankedResponse> responses = group.getResponses();
    if (responses.size() < 2) {
      throw new InvalidGroupException(
          "group "
              + group.getGroupId()
              + " has "
              + responses.size()
              + " responses; a comparison needs at least 2");
    }
    List<ChatTurn> context = ChatTurns.toChatTurns(group.getTurns());
    if (context.isEmpty()) {
      context.add(ChatTurn.user(group.getPrompt()));
    }
    Map<String, Integer> index = new HashMap<>();
    List<int[]> sequences = new ArrayList<>();
    List<Integer> chosen = new ArrayList<>();
    long newestPolicy = -1;
    for (RankedResponse r : responses) {
      if (index.putIfAbsent(r.getResponseId(), sequences.size()) != null) {
        throw new InvalidGroupException(
            "group " + group.getGroupId() + " lists response " + r.getResponseId() + " twice");
      }
      List<ChatTurn> turns = new ArrayList<>(context);
      turns.add(ChatTurn.assistant(r.getText()));
      int[] tokens = chat.encode(turns);
      if (tokens.length > contextLength) {
        tokens = Arrays.copyOfRange(tokens, tokens.length - contextLength, tokens.length);
      }
      if (r.getTier() == 0) {
        chosen.add(sequences.size());
      }
      if (r.getPolicyVersion() != null) {
        newestPolicy = Math.max(newestPolicy, r.getPolicyVersion());
      }
      sequences.add(tokens);
    }
    for (Long v : group.getPolicyVersions()) {
      newestPolicy = Math.max(newestPolicy, v);
    }
    List<PairwiseRewardLoss.Comparison> comparisons = new ArrayList<>();
    for (ComparisonPair p : group.getPairs()) {
      Integer w = index.get(p.getChosenResponseId());
      Integer l = index.get(p.getRejectedResponseId());
      if (w == null || l == null) {
        throw new InvalidGroupException(
            "group "
                + group.getGroupId()
                + " has a pair naming an unknown response ("
                + p.getChosenResponseId()
                + " > "
                + p.getRejectedResponseId()
                + ")");
      }
      if (w.equals(l)) {
        throw new InvalidGroupException(
            "group "
                + group.getGroupId()
                + " compares response "
                + p.getChosenResponseId()
                + " with itself");
      }
      comparisons.add(new PairwiseRewardLoss.Comparison(w, l));
    }
    if (comparisons.isEmpty()) {
      throw new InvalidGroupException(
          "group " + group.getGroupId() + " has no comparison pairs (all tied?)");
    }
    return new EncodedGroup(
        partition,
        offset,
        group.getEventTime().toEpochMilli(),
        group.getGroupId(),
        group.getPromptKey(),
        group.getSplit(),
        List.copyOf(sequences),
        List.copyOf(comparisons),
        List.copyOf(chosen),
        newestPolicy);
  }

  /**
   * A reference response (e.g. a demonstration) as a scoring sequence, truncated like the groups.
   */
  public int[] encodeResponse(List<ChatTurn> context, String response) {
    List<ChatTurn> turns = new ArrayList<>(context);
    turns.add(ChatTurn.assistant(response));
    int[] tokens = chat.encode(turns);
    return tokens.length > contextLength
        ? Arrays.copyOfRange(tokens, tokens.length - contextLength, tokens.length)
        : tokens;
  }
}
