package dev.flywheel.policy.train;

import java.util.Map;

/**
 * When SFT goes on in a further round on the same demonstrations, and how long that round is.
 *
 * <p>{@code max-steps} caps one round so that the first policy is live within minutes; on the
 * simulator's 2,000 demonstrations that is 5 of the 32 epochs the service trains, and the served
 * policy stops far short of what SFT reaches (0.33 sampled gold after 600 steps, 0.46 after 1,800,
 * 0.57 after 3,600: the policy-trainer README, "What SFT converges to"). A chain continues the
 * latest SFT version warm, one round at a time, each with its own data order and either a cosine
 * schedule of its own (warm restarts, Loshchilov &amp; Hutter 2017) or its part of one cosine over
 * all continuation rounds ({@code chain-schedule}, {@link #window}), until one of:
 *
 * <ul>
 *   <li>{@link Verdict#EPOCHS_DONE}: the chain's steps reach {@code epochs} passes over the
 *       training demonstrations;
 *   <li>{@link Verdict#STOPPED_EARLY}: the round ended before its planned steps because the eval
 *       loss stopped improving ({@code early-stopping-patience});
 *   <li>{@link Verdict#NOT_IMPROVED}: the round's eval loss is not below its parent's on the same
 *       held-out demonstrations ({@code eval_loss_before}) by {@code early-stopping-min-delta} —
 *       the service publishes such a continuation as REJECTED.
 * </ul>
 *
 * Without held-out demonstrations (no {@code eval_loss}) only the epochs end a chain.
 */
public final class SftContinuation {

  /** Metric: optimizer steps of the version's chain of warm-started rounds, its own included. */
  public static final String CHAIN_STEPS = "chain_steps";

  /** Metric: the version's round in its chain (0 for a new root or a round on new data). */
  public static final String CHAIN_ROUND = "chain_round";

  /**
   * Metric of a continuation with {@link SftConfig.ChainSchedule#CHAIN}: the chain step at which
   * its one cosine started (the first continuation's {@link #CHAIN_STEPS} before it).
   */
  public static final String CHAIN_RESTART = "chain_restart_step";

  /** Why a chain goes on or ends after a version. */
  public enum Verdict {
    CONTINUE,
    EPOCHS_DONE,
    STOPPED_EARLY,
    NOT_IMPROVED
  }

  private SftContinuation() {}

  /** Steps of {@code epochs} passes over {@code trainExamples} at the configured batch size. */
  public static int budget(SftConfig config, int trainExamples) {
    int perEpoch = Math.max(1, (trainExamples + config.getBatchSize() - 1) / config.getBatchSize());
    return config.getEpochs() * perEpoch;
  }

  /**
   * The steps of the next round after {@code chainSteps}: what is left of the budget, split into
   * equal rounds of at most {@code max-steps} (1,208 left at a cap of 600 are three rounds of 403,
   * not 600, 600 and 8). A chain's first round is not planned here: it is {@code max-steps}.
   */
  public static int roundSteps(SftConfig config, int chainSteps, int trainExamples) {
    int left = Math.max(1, budget(config, trainExamples) - chainSteps);
    int rounds = (left + config.getMaxSteps() - 1) / config.getMaxSteps();
    return (left + rounds - 1) / rounds;
  }

  /**
   * The settings of a continuation round: {@link #roundSteps} as {@code max-steps}, and the seed
   * moved by the round's place in the chain so that its epochs are shuffled anew.
   */
  public static SftConfig roundConfig(
      SftConfig config, int chainSteps, int chainRound, int trainExamples) {
    SftConfig round = config.copy();
    round.setMaxSteps(roundSteps(config, chainSteps, trainExamples));
    round.setSeed(config.getSeed() + chainRound);
    return round;
  }

  /**
   * The step at which the one cosine of a {@link SftConfig.ChainSchedule#CHAIN} chain starts, for
   * the round continuing a parent with {@code parentMetrics}: the parent's {@link #CHAIN_RESTART},
   * or (the first continuation) the chain's steps so far.
   */
  public static int restartStep(Map<String, Double> parentMetrics) {
    Double restart = parentMetrics.get(CHAIN_RESTART);
    return restart != null ? (int) Math.round(restart) : chainSteps(parentMetrics);
  }

  /**
   * Where a continuation round after {@code chainSteps} lies on its schedule: null with {@link
   * SftConfig.ChainSchedule#ROUND} (a cosine of its own); with {@link
   * SftConfig.ChainSchedule#CHAIN}, its steps within one cosine over the budget left at {@code
   * restartStep}.
   */
  public static SftTrainer.ScheduleWindow window(
      SftConfig config, int chainSteps, int restartStep, int trainExamples) {
    if (config.getChainSchedule() == SftConfig.ChainSchedule.ROUND) {
      return null;
    }
    int offset = Math.max(0, chainSteps - restartStep);
    int length = Math.max(budget(config, trainExamples) - restartStep, offset + 1);
    return new SftTrainer.ScheduleWindow(offset, length);
  }

  /**
   * True when a round's eval loss is below its parent's ({@code eval_loss_before}, measured on the
   * same held-out demonstrations before the round) by more than {@code early-stopping-min-delta};
   * true when either is missing (nothing to compare).
   */
  public static boolean improved(Map<String, Double> metrics, SftConfig config) {
    Double after = metrics.get("eval_loss");
    Double before = metrics.get("eval_loss_before");
    if (after == null || before == null || after.isNaN() || before.isNaN()) {
      return true;
    }
    return after < before - config.getEarlyStoppingMinDelta();
  }

  /**
   * Whether the chain goes on after a version with these {@code metrics} ({@code steps}, {@code
   * planned_steps}, {@code train_examples}, {@link #CHAIN_STEPS}; {@code steps} when a version
   * predates chains), judged with the settings the next round would use. A version without {@code
   * train_examples} (not the record of an SFT round) is not continued: {@link Verdict#EPOCHS_DONE}.
   */
  public static Verdict verdict(Map<String, Double> metrics, SftConfig config) {
    if (!metrics.containsKey("train_examples")) {
      return Verdict.EPOCHS_DONE;
    }
    double steps = metrics.getOrDefault("steps", 0.0);
    if (steps < metrics.getOrDefault("planned_steps", steps)) {
      return Verdict.STOPPED_EARLY;
    }
    if (!improved(metrics, config)) {
      return Verdict.NOT_IMPROVED;
    }
    double chain = metrics.getOrDefault(CHAIN_STEPS, steps);
    int train = (int) Math.round(metrics.get("train_examples"));
    return chain >= budget(config, train) ? Verdict.EPOCHS_DONE : Verdict.CONTINUE;
  }

  /** The chain steps of a version ({@code steps} for one that predates chains; 0 for none). */
  public static int chainSteps(Map<String, Double> metrics) {
    return (int) Math.round(metrics.getOrDefault(CHAIN_STEPS, metrics.getOrDefault("steps", 0.0)));
  }

  /** The chain round of a version (0 for one that predates chains). */
  public static int chainRound(Map<String, Double> metrics) {
    return (int) Math.round(metrics.getOrDefault(CHAIN_ROUND, 0.0));
  }
}
