package dev.flywheel.policy.bench;

import dev.flywheel.simulator.PromptSplit;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * LoopExperiment's command line, each {@code --option} read once with its default (README,
 * "Benchmark"), and the cache directory names the options give the SFT policy and the reward model.
 *
 * @param groups {@code --groups}: ranked groups on training prompts
 * @param rmLm {@code --rm-lm}: the reward trainer's lm-coef, next-token loss on the chosen
 *     responses (0 = off)
 * @param ppoSettings {@code --ppo}: the RL settings ({@link RlSettings}), "none" for none
 * @param evalFraction {@code --eval-fraction}: the benchmark can hold out more prompts than the
 *     platform's 10% (0.3: ~150)
 * @param temperatures {@code --temperatures}: SFT's extra sampling temperatures (the tuned SFT row)
 * @param sigma {@code --sigma}: the labelers' noise, a number or "policy" (calibrated on the SFT
 *     policy's own samples)
 * @param evalGroups {@code --eval-groups}: ranked groups on held-out prompts (default groups / 9,
 *     at least 40)
 * @param rmTrunk {@code --rm-trunk}: the reward model's trunk ({@link RewardTrunk})
 * @param rmSweep {@code --rm-sweep}: reward-model settings to sweep instead of RL ({@link
 *     RewardModelSweep}), empty for none
 * @param rmEnsemble {@code --rm-ensemble}: reward models in the ensemble
 * @param ensembleK {@code --ensemble-k}: the ensemble's reward is mean − k·std
 * @param curveEvery {@code --curve-every}: RL iterations between over-optimisation curve points (0
 *     = no curves)
 * @param compare {@code --compare}: "A:B;C:D", settings whose paired difference to print
 * @param comparisons {@code --comparisons}: a platform run's rankings exported by the CLI ({@link
 *     ExportedComparisons}) to train and judge the {@code --rm-sweep} on instead of the bench's own
 *     groups; null for none
 * @param comparisonsUntil {@code --comparisons-until}: only the groups ranked at or before this
 *     instant (ISO-8601, e.g. a reward round's start)
 */
record LoopExperimentOptions(
    long seed,
    int demos,
    int groups,
    int k,
    int rmEpochs,
    float rmLr,
    int rmBatch,
    float rmLm,
    int evalSamples,
    List<String> ppoSettings,
    Path cache,
    boolean verbose,
    double evalFraction,
    int sftSteps,
    int sftEvalEvery,
    List<Float> temperatures,
    String sigma,
    int evalGroups,
    String rmTrunk,
    String rmSweep,
    int rmEnsemble,
    double ensembleK,
    int curveEvery,
    int curveSamples,
    boolean bestOf,
    String compare,
    Path comparisons,
    Instant comparisonsUntil) {

  static LoopExperimentOptions parse(String[] args) {
    int groups = Integer.parseInt(arg(args, "--groups", "400"));
    return new LoopExperimentOptions(
        Long.parseLong(arg(args, "--seed", "1")),
        Integer.parseInt(arg(args, "--demos", "2000")),
        groups,
        Integer.parseInt(arg(args, "--k", "4")),
        Integer.parseInt(arg(args, "--rm-epochs", "1")),
        Float.parseFloat(arg(args, "--rm-lr", "1e-3")),
        Integer.parseInt(arg(args, "--rm-batch", "32")),
        Float.parseFloat(arg(args, "--rm-lm", "0")),
        Integer.parseInt(arg(args, "--eval-samples", "8")),
        List.of(arg(args, "--ppo", "default").split(";")),
        Path.of(arg(args, "--cache", "/tmp/loop-experiment")),
        Boolean.parseBoolean(arg(args, "--verbose", "true")),
        Double.parseDouble(
            arg(args, "--eval-fraction", Double.toString(PromptSplit.DEFAULT_EVAL_FRACTION))),
        Integer.parseInt(arg(args, "--sft-steps", "600")),
        Integer.parseInt(arg(args, "--sft-eval-every", "0")),
        Arrays.stream(arg(args, "--temperatures", "").split(","))
            .filter(t -> !t.isBlank())
            .map(Float::parseFloat)
            .toList(),
        arg(args, "--sigma", Double.toString(LabelCeilings.SYNTHETIC_SIGMA)),
        Integer.parseInt(arg(args, "--eval-groups", Integer.toString(Math.max(40, groups / 9)))),
        arg(args, "--rm-trunk", RewardTrunk.POLICY),
        arg(args, "--rm-sweep", ""),
        Integer.parseInt(arg(args, "--rm-ensemble", "1")),
        Double.parseDouble(arg(args, "--ensemble-k", "1")),
        Integer.parseInt(arg(args, "--curve-every", "0")),
        Integer.parseInt(arg(args, "--curve-samples", "8")),
        Boolean.parseBoolean(arg(args, "--best-of", "false")),
        arg(args, "--compare", ""),
        comparisons(arg(args, "--comparisons", ""), arg(args, "--rm-sweep", "")),
        Instant.parse(arg(args, "--comparisons-until", Instant.MAX.toString())));
  }

  private static Path comparisons(String file, String rmSweep) {
    if (file.isEmpty()) {
      return null;
    }
    if (rmSweep.isEmpty()) {
      throw new IllegalArgumentException("--comparisons trains the --rm-sweep only: give both");
    }
    return Path.of(file);
  }

  /** The value after {@code name} on the command line, else {@code fallback}. */
  static String arg(String[] args, String name, String fallback) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return fallback;
  }

  /** Whether {@code --sigma policy} calibrates the labelers' noise on the SFT policy's samples. */
  boolean sigmaOnPolicy() {
    return sigma.equals("policy");
  }

  /**
   * The SFT policy's cache name. The defaults keep the name the earlier runs used: early stopping
   * ({@code --sft-eval-every} > 0) and {@code --eval-fraction} came later.
   */
  String sftName() {
    return sftName(seed, demos, sftSteps, sftEvalEvery, evalFraction);
  }

  /** The cache name of an SFT policy of the default shape trained with these settings. */
  static String sftName(long seed, int demos, int sftSteps, int sftEvalEvery, double evalFraction) {
    return "sft-" + seed + "-" + demos + sftTag(sftSteps, sftEvalEvery, evalFraction);
  }

  /** The reward model's cache name: the SFT policy's settings, then its own. */
  String rewardModelName() {
    return "rm-"
        + seed
        + "-"
        + demos
        + sftTag()
        + "-"
        + groups
        + "-"
        + rmEpochs
        + "-"
        + rmLr
        + (sigma.equals(Double.toString(LabelCeilings.SYNTHETIC_SIGMA)) ? "" : "-s" + sigma)
        + (rmLm == 0 ? "" : "-lm" + rmLm)
        + (rmTrunk.equals(RewardTrunk.POLICY) ? "" : "-trunk" + rmTrunk);
  }

  private String sftTag() {
    return sftTag(sftSteps, sftEvalEvery, evalFraction);
  }

  private static String sftTag(int sftSteps, int sftEvalEvery, double evalFraction) {
    return (sftSteps == 600 ? "" : "-" + sftSteps)
        + (sftEvalEvery == 0 ? "" : "-es" + sftEvalEvery)
        + (evalFraction == PromptSplit.DEFAULT_EVAL_FRACTION ? "" : "-ef" + evalFraction);
  }
}
