package dev.flywheel.simulator;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Human-like demonstrations for SFT, written by a handful of synthetic writers: mostly the ideal
 * answer in one consistent short format, but exactly {@code round(imperfectShare x count)} of them
 * imperfect, cycling through verbose, impolite and wrong, so that the SFT policy inherits some bad
 * habits and RLHF has room to beat it. Only train prompts are used, each about equally often.
 */
public final class Demonstrations {

  /** The default share of imperfect demonstrations. */
  public static final double DEFAULT_IMPERFECT_SHARE = 0.25;

  /** Writers the demonstrations are attributed to ({@code sim-writer-0..}). */
  public static final int WRITERS = 5;

  /**
   * One demonstration.
   *
   * @param demonstrationId stable id (seed, index and a hash of the content): posting the same
   *     demonstration again is a replay, never a second record or an idempotency conflict
   * @param prompt the (train) prompt
   * @param response what the writer wrote
   * @param style how it was written (not sent; for tests and statistics)
   * @param annotatorId the synthetic writer
   */
  public record Demonstration(
      String demonstrationId, Prompt prompt, String response, Style style, String annotatorId) {}

  private Demonstrations() {}

  /** {@code count} demonstrations on the split's train prompts, deterministic in {@code seed}. */
  public static List<Demonstration> generate(
      PromptSplit split, int count, double imperfectShare, long seed) {
    if (count < 0 || !(imperfectShare >= 0 && imperfectShare <= 1)) {
      throw new IllegalArgumentException("count >= 0 and imperfect share in [0, 1] required");
    }
    List<Prompt> train = split.train();
    if (train.isEmpty() && count > 0) {
      throw new IllegalArgumentException("no train prompts");
    }
    Random order = new Random(seed);
    // every train prompt about equally often: cycle through reshuffled copies of the train list
    List<Prompt> prompts = new ArrayList<>(count);
    while (prompts.size() < count) {
      List<Prompt> round = new ArrayList<>(train);
      Collections.shuffle(round, order);
      prompts.addAll(round.subList(0, Math.min(round.size(), count - prompts.size())));
    }
    // exactly round(share x count) imperfect ones, at seeded positions, styles cycling
    Style[] styles = new Style[count];
    java.util.Arrays.fill(styles, Style.GOOD);
    List<Integer> positions = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      positions.add(i);
    }
    Collections.shuffle(positions, order);
    int imperfect = (int) Math.round(imperfectShare * count);
    for (int i = 0; i < imperfect; i++) {
      styles[positions.get(i)] = Style.IMPERFECT[i % Style.IMPERFECT.length];
    }
    SplittableRandom words = new SplittableRandom(seed ^ 0x5DEECE66DL);
    List<Demonstration> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Prompt prompt = prompts.get(i);
      String response = prompt.family().respond(prompt, styles[i], words);
      String id =
          "sim-demo-" + seed + "-" + i + "-" + shortHash(prompt.text() + "\u0000" + response);
      out.add(new Demonstration(id, prompt, response, styles[i], "sim-writer-" + (i % WRITERS)));
    }
    return List.copyOf(out);
  }

  private static String shortHash(String text) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
