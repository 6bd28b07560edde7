package dev.flywheel.policy.bench;

import static dev.flywheel.policy.bench.HeldOutEvaluation.gold;
import static dev.flywheel.policy.bench.HeldOutEvaluation.pairedDifference;
import static dev.flywheel.policy.bench.LoopExperimentOptions.arg;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.Devices;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.policy.bench.HeldOutEvaluation.Gold;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.simulator.Demonstrations;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import dev.flywheel.simulator.Style;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What SFT converges to, and what stops it at the learning issue's 0.55 sampled gold: one SFT
 * policy per setting, each scored on the held-out prompts (greedy, and sampled at T = 1 and at each
 * {@code --temperatures} value) and, sampled at T = 1, on the training prompts it learned from —
 * the gap between the two is generalisation — against the demonstrators' own gold on the same
 * prompts, which a policy that imitates them perfectly would score.
 *
 * <pre>
 * mvn -q -pl services/policy-trainer test-compile exec:java -Dbench.main=dev.flywheel.policy.bench.SftConvergence \
 *     -Dexec.args="--seed 1 --eval-fraction 0.3 --sft steps=600;steps=1800;demos=4000,steps=3600;trunk=6x192,steps=1800"
 * </pre>
 *
 * <p>A setting is {@code steps=<max
 * steps>,demos=<count>,epochs=<n>,trunk=<policy|LxW>,es=<eval-every>} (defaults 1,800 steps, 2,000
 * demonstrations, 16 epochs, the policy's 4×128 shape, no early stopping), or with {@code
 * round=<max steps per round>} in place of {@code steps}: the service's {@code sft-continue} chain
 * ({@link dev.flywheel.policy.train.SftContinuation}) — warm-started rounds of at most that many
 * steps, each with its own cosine schedule ({@code sched=chain}: each its part of one cosine over
 * the continuation rounds, the service's {@code chain-schedule: chain}), until the epochs are done
 * or the chain's rule ends it (with {@code es=100}, the service's early stopping). The SFT
 * trainer's schedule (cosine decay to the end) is the service's; 2,000 demonstrations × 16 epochs
 * at batch 16 are ~1,800 steps, so a longer run needs more demonstrations or more epochs — the two
 * are the control for each other at an equal number of steps. Policies are cached under {@code
 * --cache} with {@link LoopExperiment}'s names, so the two benchmarks share them. Every row after
 * the first is also compared with the first, paired over held-out prompts with a 95% bootstrap
 * interval.
 */
public final class SftConvergence {

  /** The benchmarks' epochs (InstructGPT's 16): the step cap binds before them unless raised. */
  private static final int DEFAULT_EPOCHS = SftCheckpoint.BENCH_EPOCHS;

  /** The demonstrators' imperfect styles, in the share the demonstrations mix them. */
  private static final List<Style> IMPERFECT = List.of(Style.VERBOSE, Style.IMPOLITE, Style.WRONG);

  private SftConvergence() {}

  /** One SFT policy to train and score. */
  record Setting(
      String spec,
      int steps,
      int demos,
      int epochs,
      String trunk,
      int evalEvery,
      int round,
      SftConfig.ChainSchedule schedule) {
    static Setting parse(String spec) {
      int steps = 1800;
      int round = 0;
      boolean stepsGiven = false;
      int demos = 2000;
      int epochs = DEFAULT_EPOCHS;
      String trunk = RewardTrunk.POLICY;
      int evalEvery = 0;
      SftConfig.ChainSchedule schedule = SftConfig.ChainSchedule.ROUND;
      for (String part : spec.split(",")) {
        String[] kv = part.split("=", 2);
        if (kv.length != 2) {
          throw new IllegalArgumentException("SFT setting '" + spec + "': '" + part + "'");
        }
        switch (kv[0]) {
          case "steps" -> {
            steps = Integer.parseInt(kv[1]);
            stepsGiven = true;
          }
          case "round" -> round = Integer.parseInt(kv[1]);
          case "demos" -> demos = Integer.parseInt(kv[1]);
          case "epochs" -> epochs = Integer.parseInt(kv[1]);
          case "trunk" -> trunk = kv[1];
          case "es" -> evalEvery = Integer.parseInt(kv[1]);
          case "sched" ->
              schedule = SftConfig.ChainSchedule.valueOf(kv[1].toUpperCase(Locale.ROOT));
          default ->
              throw new IllegalArgumentException(
                  "SFT setting '" + spec + "': unknown key '" + kv[0] + "'");
        }
      }
      RewardTrunk.shape(GptConfig.small(), trunk); // fails now on a bad shape, not after training
      if (round > 0 && stepsGiven) {
        throw new IllegalArgumentException(
            "SFT setting '" + spec + "': 'round' trains until the epochs are done; drop 'steps'");
      }
      if (schedule != SftConfig.ChainSchedule.ROUND && round == 0) {
        throw new IllegalArgumentException(
            "SFT setting '" + spec + "': 'sched' is the schedule of a chain; add 'round'");
      }
      return new Setting(
          spec, round > 0 ? round : steps, demos, epochs, trunk, evalEvery, round, schedule);
    }

    String cacheName(long seed, double evalFraction) {
      String name = LoopExperimentOptions.sftName(seed, demos, steps, evalEvery, evalFraction);
      return name
          + (round > 0 ? "-chain" : "")
          + (schedule == SftConfig.ChainSchedule.ROUND ? "" : "-once")
          + (epochs == DEFAULT_EPOCHS ? "" : "-epochs" + epochs)
          + (trunk.equals(RewardTrunk.POLICY) ? "" : "-trunk" + trunk);
    }
  }

  public static void main(String[] args) throws Exception {
    NativeRuntime.configure();
    long seed = Long.parseLong(arg(args, "--seed", "1"));
    double evalFraction = Double.parseDouble(arg(args, "--eval-fraction", "0.3"));
    int samples = Integer.parseInt(arg(args, "--eval-samples", "32"));
    int trainSamples = Integer.parseInt(arg(args, "--train-samples", "8"));
    Path cache = Path.of(arg(args, "--cache", "/tmp/loop-experiment"));
    List<Float> temperatures =
        Arrays.stream(arg(args, "--temperatures", "0.5,0.7").split(","))
            .filter(t -> !t.isBlank())
            .map(Float::parseFloat)
            .toList();
    List<Setting> settings =
        Arrays.stream(arg(args, "--sft", "steps=600;steps=1800").split(";"))
            .map(Setting::parse)
            .toList();
    PromptSplit split = PromptSplit.standard(evalFraction);
    System.out.printf(
        Locale.ROOT,
        "prompts: %d train, %d held out; demonstrators' gold (%.0f%% imperfect): held out %s, train %s%n",
        split.train().size(),
        split.heldOut().size(),
        100 * Demonstrations.DEFAULT_IMPERFECT_SHARE,
        demonstratorsGold(split.heldOut(), seed),
        demonstratorsGold(split.train(), seed));
    Gold first = null;
    try (NDManager manager = Devices.newManager("auto")) {
      for (Setting s : settings) {
        List<Demonstrations.Demonstration> demonstrations =
            Demonstrations.generate(split, s.demos(), Demonstrations.DEFAULT_IMPERFECT_SHARE, seed);
        Engine.getInstance().setRandomSeed((int) seed);
        long t0 = System.nanoTime();
        Path dir =
            s.round() > 0
                ? SftCheckpoint.trainChainOrLoad(
                    cache.resolve(s.cacheName(seed, evalFraction)),
                    RewardTrunk.shape(GptConfig.small(), s.trunk()),
                    demonstrations,
                    s.round(),
                    s.epochs(),
                    s.evalEvery(),
                    s.schedule(),
                    manager)
                : SftCheckpoint.trainOrLoad(
                    cache.resolve(s.cacheName(seed, evalFraction)),
                    RewardTrunk.shape(GptConfig.small(), s.trunk()),
                    demonstrations,
                    s.steps(),
                    s.epochs(),
                    s.evalEvery(),
                    manager);
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        try (LoadedModel loaded = ModelArtifacts.load(dir, null, manager)) {
          PolicyModel policy = loaded.policy();
          policy.setTrainable(false);
          long e0 = System.nanoTime();
          Gold greedy = gold(policy, split, 1, 0f, seed);
          Gold sampled = gold(policy, split, samples, 1f, seed);
          Gold onTrain = gold(policy, split.train(), trainSamples, 1f, seed);
          System.out.printf(
              Locale.ROOT,
              "SFT %s (%,d parameters, %s; %.0fs to train or load)%n"
                  + "  held out: greedy %s | T=1 %s%s%n  train prompts, T=1: %s%n",
              s.spec(),
              policy.parameterCount(),
              dir.getFileName(),
              trainSeconds,
              greedy,
              sampled,
              first == null
                  ? ""
                  : " | − first row "
                      + pairedDifference(sampled.perPrompt(), first.perPrompt(), seed),
              onTrain);
          for (float t : temperatures) {
            Gold g = gold(policy, split, samples, t, seed);
            System.out.printf(
                Locale.ROOT,
                "  held out: T=%.2f %s | − T=1 %s%n",
                t,
                g,
                pairedDifference(g.perPrompt(), sampled.perPrompt(), seed));
          }
          System.out.printf(Locale.ROOT, "  (scored in %.0fs)%n", (System.nanoTime() - e0) / 1e9);
          if (first == null) {
            first = sampled;
          }
        }
      }
    }
  }

  /**
   * The gold a perfect imitator of the demonstrations would score on {@code prompts}: each prompt's
   * mean over the demonstrators' mix — the good answer at 1 − the imperfect share, the imperfect
   * styles equally at the rest (their words drawn 8 times each) — and, after it, the good answer's
   * alone (what an imitator that always picks the demonstrators' mode would score).
   */
  static String demonstratorsGold(List<Prompt> prompts, long seed) {
    SplittableRandom words = new SplittableRandom(seed ^ 0x5DEECE66DL);
    double share = Demonstrations.DEFAULT_IMPERFECT_SHARE;
    double mix = 0;
    double good = 0;
    for (Prompt p : prompts) {
      double g = p.gold(p.family().respond(p, Style.GOOD, words));
      double imperfect = 0;
      for (Style style : IMPERFECT) {
        for (int i = 0; i < 8; i++) {
          imperfect += p.gold(p.family().respond(p, style, words)) / (8.0 * IMPERFECT.size());
        }
      }
      good += g / prompts.size();
      mix += ((1 - share) * g + share * imperfect) / prompts.size();
    }
    return String.format(Locale.ROOT, "%.3f (the good answer alone %.3f)", mix, good);
  }
}
