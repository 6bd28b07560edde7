package dev.flywheel.policy.train;

import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The prompts PPO samples from: a fixed configured set, plus a sliding window of the most recent
 * transcript prompts per partition. Every prompt is assigned to the train or held-out split by its
 * prompt key ({@link Splits}); PPO trains on train prompts only and evaluates on held-out ones.
 *
 * <p>Not thread-safe (the training loop owns it).
 */
public final class PromptPool {

  /**
   * @param key the pair assembler's prompt key
   * @param tokens chat-formatted generation prompt (ends with the ASSISTANT marker)
   * @param heldOut evaluation only
   * @param partition transcript partition, or -1 for a configured prompt
   * @param offset transcript offset, or -1
   */
  public record Prompt(String key, int[] tokens, boolean heldOut, int partition, long offset) {}

  private final ChatTemplate template = new ChatTemplate();
  private final double evalFraction;
  private final int windowPerPartition;
  private final List<Prompt> configured = new ArrayList<>();
  private final Map<Integer, Deque<Prompt>> transcripts = new TreeMap<>();

  public PromptPool(double evalFraction, int windowPerPartition) {
    this.evalFraction = evalFraction;
    this.windowPerPartition = Math.max(1, windowPerPartition);
  }

  public double evalFraction() {
    return evalFraction;
  }

  public Prompt prompt(List<ChatTurn> turns, int partition, long offset) {
    String key = Splits.promptKey(turns);
    return new Prompt(
        key,
        template.encodeForGeneration(turns),
        Splits.isHeldOutPrompt(key, evalFraction),
        partition,
        offset);
  }

  /** Adds a configured prompt (a conversation ending with the user's turn). */
  public void addConfigured(List<ChatTurn> turns) {
    configured.add(prompt(turns, -1, -1));
  }

  /** Adds a transcript's prompt; the oldest of its partition falls out of the window. */
  public void addTranscript(List<ChatTurn> turns, int partition, long offset) {
    Deque<Prompt> window = transcripts.computeIfAbsent(partition, p -> new ArrayDeque<>());
    window.addLast(prompt(turns, partition, offset));
    while (window.size() > windowPerPartition) {
      window.removeFirst();
    }
  }

  public List<Prompt> configured() {
    return List.copyOf(configured);
  }

  public List<Prompt> transcriptPrompts() {
    List<Prompt> out = new ArrayList<>();
    transcripts.values().forEach(out::addAll);
    return out;
  }

  public int trainCount() {
    return (int)
        (configured.stream().filter(p -> !p.heldOut()).count()
            + transcriptPrompts().stream().filter(p -> !p.heldOut()).count());
  }

  /**
   * {@code n} train prompts drawn with replacement: a share {@code transcriptShare} from the
   * transcript window and the rest from the configured set (all from one source when the other has
   * none).
   */
  public List<int[]> sampleTrain(int n, double transcriptShare, Random random) {
    List<Prompt> fromTranscripts = transcriptPrompts().stream().filter(p -> !p.heldOut()).toList();
    List<Prompt> fromConfig = configured.stream().filter(p -> !p.heldOut()).toList();
    if (fromTranscripts.isEmpty() && fromConfig.isEmpty()) {
      throw new IllegalStateException("no training prompts");
    }
    List<int[]> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      boolean transcript =
          fromConfig.isEmpty()
              || (!fromTranscripts.isEmpty() && random.nextDouble() < transcriptShare);
      List<Prompt> source = transcript ? fromTranscripts : fromConfig;
      out.add(source.get(random.nextInt(source.size())).tokens());
    }
    return out;
  }

  /**
   * Up to {@code max} distinct held-out prompts, the same ones round after round while the pool
   * does not change: ordered by prompt key.
   */
  public List<int[]> heldOut(int max) {
    Map<String, Prompt> distinct = new LinkedHashMap<>();
    for (Prompt p : configured) {
      if (p.heldOut()) {
        distinct.putIfAbsent(p.key(), p);
      }
    }
    for (Prompt p : transcriptPrompts()) {
      if (p.heldOut()) {
        distinct.putIfAbsent(p.key(), p);
      }
    }
    return distinct.values().stream()
        .sorted(Comparator.comparing(Prompt::key))
        .limit(max)
        .map(Prompt::tokens)
        .toList();
  }

  /** Transcript offsets the window holds: partition → [first, last + 1). */
  public Map<Integer, long[]> transcriptRanges() {
    Map<Integer, long[]> out = new TreeMap<>();
    transcripts.forEach(
        (partition, window) -> {
          if (!window.isEmpty()) {
            out.put(
                partition, new long[] {window.getFirst().offset(), window.getLast().offset() + 1});
          }
        });
    return out;
  }
}
