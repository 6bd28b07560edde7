package dev.flywheel.simulator;

import dev.flywheel.events.DataSplit;
import dev.flywheel.schemas.PromptKeys;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The train / held-out split of the prompt space, by hash of the prompt text, decided by exactly
 * the platform's rule so that the simulator, the pair assembler and the policy trainer agree on it.
 *
 * <p>The rule is {@link PromptKeys} in {@code schemas/}, which the pair assembler and the policy
 * trainer's {@code Splits} call too (nothing is repeated here; {@code PromptSplitTest} pins golden
 * keys): the prompt is one USER turn; its text is NFKC-normalised, lower-cased (root locale),
 * whitespace runs collapsed to one space and trimmed; SHA-256 over (4-byte big-endian length,
 * "USER", length, text); the key is the first 16 bytes in hex; the prompt is held out when the
 * first 53 bits, as a fraction of 2^53, are below the eval fraction (0.1 by default, the pair
 * assembler's default).
 *
 * <p>Why the platform's rule: serving publishes a transcript for every completion, the evaluation's
 * too. Because held-out here means EVAL to the pair assembler and held-out to the policy trainer,
 * evaluation traffic on held-out prompts never becomes reward-model or PPO training data.
 */
public final class PromptSplit {

  /** The pair assembler's default eval fraction. */
  public static final double DEFAULT_EVAL_FRACTION = 0.1;

  private final double evalFraction;
  private final List<Prompt> train;
  private final List<Prompt> heldOut;
  private final Set<String> trainInstances;

  public PromptSplit(List<Prompt> prompts, double evalFraction) {
    if (!(evalFraction >= 0 && evalFraction < 1)) {
      throw new IllegalArgumentException("eval fraction must be in [0, 1): " + evalFraction);
    }
    this.evalFraction = evalFraction;
    List<Prompt> t = new ArrayList<>();
    List<Prompt> h = new ArrayList<>();
    for (Prompt p : prompts) {
      (isHeldOut(p.text(), evalFraction) ? h : t).add(p);
    }
    this.train = List.copyOf(t);
    this.heldOut = List.copyOf(h);
    Set<String> instances = new HashSet<>();
    t.forEach(p -> instances.add(p.family().instance(p)));
    this.trainInstances = Set.copyOf(instances);
  }

  /** Every family's prompts, split with the given eval fraction. */
  public static PromptSplit standard(double evalFraction) {
    return new PromptSplit(TaskFamily.allPrompts(), evalFraction);
  }

  /** Every family's prompts, split with the platform's default eval fraction. */
  public static PromptSplit standard() {
    return standard(DEFAULT_EVAL_FRACTION);
  }

  public double evalFraction() {
    return evalFraction;
  }

  /** Prompts for demonstrations and training traffic. */
  public List<Prompt> train() {
    return train;
  }

  /**
   * Prompts for evaluation only (and for the held-out labelers' rankings that judge the reward
   * model).
   */
  public List<Prompt> heldOut() {
    return heldOut;
  }

  /**
   * Whether a train prompt is the same rule instance as this one ({@link TaskFamily#instance}: same
   * family, same template kind, same filled slots up to phrasing and the order of operands the
   * answer does not depend on): its <em>twin</em>. A held-out prompt with a twin is the same task
   * as one trained on, asked in other words ({@code How can I wash a car?} / {@code Tell me how to
   * wash a car.}, {@code 5+7} / {@code 7+5}); one without needs generalisation (a new sum, a new
   * name, a new pair of words).
   */
  public boolean hasTwin(Prompt prompt) {
    return trainInstances.contains(prompt.family().instance(prompt));
  }

  public Prompt randomTrain(RandomGenerator random) {
    return train.get(random.nextInt(train.size()));
  }

  public Prompt randomHeldOut(RandomGenerator random) {
    return heldOut.get(random.nextInt(heldOut.size()));
  }

  /** Whether a single-user-turn prompt with this text is held out at this eval fraction. */
  public static boolean isHeldOut(String promptText, double evalFraction) {
    return PromptKeys.split(promptKey(promptText), evalFraction) == DataSplit.EVAL;
  }

  /** The platform's prompt key of a conversation made of one user turn with this text. */
  public static String promptKey(String promptText) {
    return PromptKeys.promptKey(promptText);
  }
}
