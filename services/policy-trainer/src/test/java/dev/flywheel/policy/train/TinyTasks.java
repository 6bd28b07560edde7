package dev.flywheel.policy.train;

import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.RewardFunction;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Tiny synthetic tasks with rule-judged answers, shared by the algorithm tests. */
public final class TinyTasks {

  public static final ChatTemplate CHAT = new ChatTemplate();

  private TinyTasks() {}

  /** 2 layers, width 64, 32-token context: ~110k parameters. */
  public static GptConfig tinyConfig(int context) {
    return new GptConfig(ByteTokenizer.VOCAB_SIZE, context, 2, 64, 4, 0f);
  }

  /** "letters N" → 8 random letters from {a, b, c, d}: an SFT policy that writes a uniform mix. */
  public static List<SftTrainer.Demo> letterDemos(int count, long seed) {
    Random random = new Random(seed);
    List<SftTrainer.Demo> demos = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      char[] letters = new char[8];
      for (int j = 0; j < letters.length; j++) {
        letters[j] = (char) ('a' + random.nextInt(4));
      }
      demos.add(
          new SftTrainer.Demo(
              "letters-" + seed + "-" + i,
              List.of(ChatTurn.user("letters " + (i % 20))),
              new String(letters)));
    }
    return demos;
  }

  /** Prompts of the letters task. */
  public static List<int[]> letterPrompts(int count, int offset) {
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      prompts.add(
          CHAT.encodeForGeneration(List.of(ChatTurn.user("letters " + ((i + offset) % 20)))));
    }
    return prompts;
  }

  /** Known reward: 2 × the share of 'a' among the response's bytes (EOS excluded). */
  public static RewardFunction shareOfA() {
    return (prompts, responses) -> {
      float[] out = new float[responses.size()];
      for (int i = 0; i < out.length; i++) {
        int bytes = 0;
        int a = 0;
        for (int t : responses.get(i)) {
          if (t < 256) {
            bytes++;
            a += t == 'a' ? 1 : 0;
          }
        }
        out[i] = bytes == 0 ? 0f : 2f * a / bytes;
      }
      return out;
    };
  }

  /** "What is a plus b?" → "ANSWER: a+b". */
  public static List<SftTrainer.Demo> answerDemos(int count, long seed) {
    Random random = new Random(seed);
    List<SftTrainer.Demo> demos = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int a = random.nextInt(10);
      int b = random.nextInt(10);
      demos.add(
          new SftTrainer.Demo(
              "sum-" + seed + "-" + i,
              List.of(ChatTurn.user(question(a, b))),
              "ANSWER: " + (a + b)));
    }
    return demos;
  }

  public static String question(int a, int b) {
    return "What is " + a + " plus " + b + "?";
  }
}
