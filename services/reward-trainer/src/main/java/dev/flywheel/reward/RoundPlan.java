package dev.flywheel.reward;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * What one round trains on, decided before its first step from the round's input alone, so a
 * trainer that resumes the round after a crash decides exactly the same (and {@link #hash()} proves
 * it).
 *
 * <p>When the round repeats its data ({@link RewardTrainerConfig#epochsFor} &gt; 1), the groups of
 * a {@code validation-fraction} of its PROMPTS are held back as a validation set: the trainer
 * evaluates on them after every epoch and keeps the epoch with the lowest validation loss ({@link
 * EarlyStopping}). Prompts, not groups, because what the gate later measures is accuracy on prompts
 * the model never saw (the eval split is a set of held-out prompts); validation groups of a trained
 * prompt would reward memorising that prompt's answers. The choice is salted with the round number,
 * so over several rounds every prompt is trained on.
 *
 * @param train the groups trained on, in arrival order
 * @param validation the held-back groups (empty: no early stopping this round)
 * @param epochs passes over {@code train} at most
 * @param stepsPerEpoch optimizer steps per pass
 * @param order every step's groups, epoch after epoch ({@code epochs × train.size()} entries)
 * @param hash identifies the plan (sizes + CRC of the ordered offsets)
 */
record RoundPlan(
    List<EncodedGroup> train,
    List<EncodedGroup> validation,
    int epochs,
    int stepsPerEpoch,
    List<EncodedGroup> order,
    String hash) {

  /** Fewest validation groups worth choosing an epoch by; below it the round trains every epoch. */
  static final int MIN_VALIDATION_GROUPS = 8;

  int totalSteps() {
    return stepsPerEpoch * epochs;
  }

  boolean earlyStopping() {
    return !validation.isEmpty();
  }

  /** The plan of round {@code round} over {@code data} (new groups, then the replay sample). */
  static RoundPlan of(
      List<EncodedGroup> data, long round, RewardTrainerConfig config, Random random) {
    List<EncodedGroup> train = new ArrayList<>(data);
    List<EncodedGroup> validation = new ArrayList<>();
    if (config.getValidationFraction() > 0 && config.epochsFor(data.size()) > 1) {
      List<EncodedGroup> held = new ArrayList<>();
      List<EncodedGroup> kept = new ArrayList<>();
      for (EncodedGroup g : data) {
        (isValidationPrompt(g.promptKey(), round, config.getValidationFraction()) ? held : kept)
            .add(g);
      }
      if (held.size() >= MIN_VALIDATION_GROUPS && !kept.isEmpty()) {
        train = kept;
        validation = held;
      }
    }
    int epochs = config.epochsFor(train.size());
    List<EncodedGroup> order = new ArrayList<>(train.size() * epochs);
    for (int e = 0; e < epochs; e++) {
      List<EncodedGroup> epoch = new ArrayList<>(train);
      Collections.shuffle(epoch, random);
      order.addAll(epoch);
    }
    CRC32 crc = new CRC32();
    for (EncodedGroup g : order) {
      crc.update((g.partition() + ":" + g.offset() + ";").getBytes(StandardCharsets.UTF_8));
    }
    for (EncodedGroup g : validation) {
      crc.update(("v" + g.partition() + ":" + g.offset() + ";").getBytes(StandardCharsets.UTF_8));
    }
    String hash = order.size() + "-" + validation.size() + "-" + Long.toHexString(crc.getValue());
    return new RoundPlan(
        List.copyOf(train),
        List.copyOf(validation),
        epochs,
        config.stepsPerEpoch(train.size()),
        List.copyOf(order),
        hash);
  }

  /**
   * Whether round {@code round} holds the prompt with key {@code promptKey} back for validation.
   */
  static boolean isValidationPrompt(String promptKey, long round, double fraction) {
    CRC32 crc = new CRC32();
    crc.update(
        (round + "/" + (promptKey == null ? "" : promptKey)).getBytes(StandardCharsets.UTF_8));
    return crc.getValue() / (double) (1L << 32) < fraction;
  }
}
