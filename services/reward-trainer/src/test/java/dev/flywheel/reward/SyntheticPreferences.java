package dev.flywheel.reward;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.Role;
import dev.flywheel.events.SourceOffset;
import dev.flywheel.events.Turn;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A synthetic preference with label noise: each prompt gets K = 4 responses made of random words;
 * two of them contain the target word ("thanks"), two do not. A labeler prefers the responses with
 * the word (they form tier 0, the others tier 1: 2 × 2 = 4 pairs), and each pair's label is flipped
 * with probability {@code noise}. The best any model can score against such labels is 1 - noise
 * (the noise ceiling).
 */
public final class SyntheticPreferences {

  static final String TARGET = "thanks";
  private static final String[] WORDS = {
    "sure", "the", "answer", "is", "four", "maybe", "ok", "well", "so", "yes", "no", "here", "it",
    "goes", "fine", "good", "cat", "dog", "sun", "red", "blue", "go", "now"
  };
  private static final String[] PROMPTS = {
    "what is 2+2?",
    "say hi",
    "name a color",
    "help me",
    "tell a joke",
    "how are you?",
    "pick a pet",
    "is it sunny?"
  };

  private final Random random;
  private final double noise;
  private long counter;

  public SyntheticPreferences(long seed, double noise) {
    this.random = new Random(seed);
    this.noise = noise;
  }

  /** {@code n} groups of one split, with event times increasing from {@code start}. */
  public List<ComparisonGroup> groups(int n, DataSplit split, Instant start) {
    List<ComparisonGroup> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(group(split, start.plusMillis(i)));
    }
    return out;
  }

  public ComparisonGroup group(DataSplit split, Instant time) {
    long id = counter++;
    String prompt = PROMPTS[random.nextInt(PROMPTS.length)];
    List<RankedResponse> responses = new ArrayList<>();
    for (int k = 0; k < 4; k++) {
      boolean good = k < 2;
      responses.add(
          RankedResponse.newBuilder()
              .setResponseId("g" + id + "-r" + k)
              .setText(response(good))
              .setTier(good ? 0 : 1)
              .setPolicyVersion(1L)
              .build());
    }
    java.util.Collections.shuffle(responses, random);
    List<ComparisonPair> pairs = new ArrayList<>();
    for (RankedResponse w : responses) {
      for (RankedResponse l : responses) {
        if (w.getTier() == 0 && l.getTier() == 1) {
          boolean flip = random.nextDouble() < noise;
          pairs.add(
              new ComparisonPair(
                  flip ? l.getResponseId() : w.getResponseId(),
                  flip ? w.getResponseId() : l.getResponseId()));
        }
      }
    }
    String groupId = "group-" + id + "-" + Long.toHexString(random.nextLong());
    return ComparisonGroup.newBuilder()
        .setEventId(groupId)
        .setEventTime(time)
        .setGroupId(groupId)
        .setRankingId(groupId)
        .setTranscriptId("t-" + id)
        .setPromptKey("p-" + id)
        .setTurns(List.of(new Turn(Role.USER, prompt)))
        .setPrompt(prompt)
        .setResponses(responses)
        .setPairs(pairs)
        .setPairWeight(1.0 / pairs.size())
        .setAnnotatorIds(List.of("synthetic"))
        .setAnnotatorPool(AnnotatorPool.TRAINING)
        .setSplit(split)
        .setPolicyVersions(List.of(1L))
        .setSourceOffsets(List.<SourceOffset>of())
        .build();
  }

  /** The same group with every pair reversed (labels flipped). */
  static ComparisonGroup flipped(ComparisonGroup g) {
    List<ComparisonPair> pairs =
        g.getPairs().stream()
            .map(p -> new ComparisonPair(p.getRejectedResponseId(), p.getChosenResponseId()))
            .toList();
    return ComparisonGroup.newBuilder(g).setPairs(pairs).build();
  }

  private String response(boolean withTarget) {
    int words = 2 + random.nextInt(3);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < words; i++) {
      out.add(WORDS[random.nextInt(WORDS.length)]);
    }
    if (withTarget) {
      out.add(random.nextInt(out.size() + 1), TARGET);
    }
    return String.join(" ", out);
  }
}
