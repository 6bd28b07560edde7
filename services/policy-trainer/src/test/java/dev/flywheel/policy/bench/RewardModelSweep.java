package dev.flywheel.policy.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.RewardModel;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import dev.flywheel.simulator.TaskFamily;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * LoopExperiment's {@code --rm-sweep}: one reward model per setting, trained on the same groups,
 * with its held-out accuracy after every epoch and its per-family table against the gold order. A
 * setting is {@code n=<groups>,epochs=16,lr=1e-3,wd=0,dropout=0,lm=0,batch=32,trunk=policy,freeze}:
 * {@code n} of the groups; {@code lm} the reward trainer's {@code lm-coef}; {@code trunk} the
 * policy's own or an SFT trunk of another shape ({@link RewardTrunk}, e.g. {@code trunk=6x192});
 * {@code labels=gold} trains on the gold order instead of the labelers' rankings ({@link
 * #rankedByGold}); {@code prompts=<count>} keeps only the groups on that many of the training
 * prompts ({@link #onPrompts}), before {@code n} caps them, to tell prompt diversity from the
 * number of rankings; {@code init=<j>} retrains a setting with another initialisation and data
 * order; {@code freeze} trains the head only (a linear probe of the trunk's features); {@code
 * resume=<k>} restarts the optimizer before step k + 1 as a reward-trainer round resumed from a
 * mid-round checkpoint does, {@code rewarm=<w>} with w steps of warm-up ({@link
 * RewardModelTraining.Restart}).
 */
final class RewardModelSweep {

  private RewardModelSweep() {}

  /**
   * The group with its labelers' comparisons replaced by the gold order's (every pair of distinct
   * gold, the higher one winning): noise-free rankings, to tell what the labels' noise costs.
   */
  static Group rankedByGold(Group g) {
    List<PairwiseRewardLoss.Comparison> pairs = new ArrayList<>();
    for (int a = 0; a < g.gold().length; a++) {
      for (int b = 0; b < g.gold().length; b++) {
        if (g.gold()[a] > g.gold()[b]) {
          pairs.add(new PairwiseRewardLoss.Comparison(a, b));
        }
      }
    }
    return new Group(g.prompt(), g.texts(), g.sequences(), pairs, g.gold());
  }

  /**
   * The groups on {@code count} of their distinct prompts, in their original order: the prompts are
   * drawn per family in proportion to its share (each family's prompts shuffled by {@code seed},
   * then all of them ordered by their rank within their family), so a smaller count is a subset of
   * a larger one and every count keeps the families' mix.
   */
  static List<Group> onPrompts(List<Group> groups, int count, long seed) {
    Map<TaskFamily, List<Prompt>> byFamily = new TreeMap<>();
    for (Group g : groups) {
      List<Prompt> family = byFamily.computeIfAbsent(g.prompt().family(), f -> new ArrayList<>());
      if (!family.contains(g.prompt())) {
        family.add(g.prompt());
      }
    }
    Random random = new Random(seed);
    Map<Prompt, Double> rankInFamily = new HashMap<>();
    for (List<Prompt> family : byFamily.values()) {
      family.sort(Comparator.comparing(Prompt::text));
      Collections.shuffle(family, random);
      for (int i = 0; i < family.size(); i++) {
        rankInFamily.put(family.get(i), (i + 0.5) / family.size());
      }
    }
    Set<Prompt> kept =
        rankInFamily.keySet().stream()
            .sorted(
                Comparator.comparing((Prompt p) -> rankInFamily.get(p)).thenComparing(Prompt::text))
            .limit(count)
            .collect(Collectors.toSet());
    return groups.stream().filter(g -> kept.contains(g.prompt())).toList();
  }

  static void run(
      RewardTrunk trunks,
      PromptSplit split,
      List<Group> train,
      List<Group> eval,
      String[] settings,
      long seed,
      NDManager manager)
      throws IOException {
    for (String setting : settings) {
      Map<String, String> kv = new HashMap<>();
      for (String part : setting.split(",")) {
        int eq = part.indexOf('=');
        kv.put(eq < 0 ? part : part.substring(0, eq), eq < 0 ? "true" : part.substring(eq + 1));
      }
      int epochs = Integer.parseInt(kv.getOrDefault("epochs", "16"));
      float lr = Float.parseFloat(kv.getOrDefault("lr", "1e-3"));
      float wd = Float.parseFloat(kv.getOrDefault("wd", "0"));
      float dropout = Float.parseFloat(kv.getOrDefault("dropout", "0"));
      float lmCoef = Float.parseFloat(kv.getOrDefault("lm", "0"));
      int batch = Integer.parseInt(kv.getOrDefault("batch", "32"));
      // resume=<k>: a fresh optimizer before step k+1, as a reward-trainer round resumed from a
      // mid-round checkpoint gets; rewarm=<w>: that optimizer warms up again over w steps
      RewardModelTraining.Restart restart =
          kv.containsKey("resume")
              ? new RewardModelTraining.Restart(
                  Integer.parseInt(kv.get("resume")),
                  Integer.parseInt(kv.getOrDefault("rewarm", "0")))
              : RewardModelTraining.Restart.NONE;
      String trunk = kv.getOrDefault("trunk", RewardTrunk.POLICY);
      List<Group> onPrompts =
          kv.containsKey("prompts")
              ? onPrompts(train, Integer.parseInt(kv.get("prompts")), seed)
              : train;
      List<Group> subset =
          onPrompts.subList(
              0,
              Math.min(
                  onPrompts.size(),
                  Integer.parseInt(kv.getOrDefault("n", Integer.toString(onPrompts.size())))));
      String labels = kv.getOrDefault("labels", "labelers");
      if (labels.equals("gold")) {
        subset = subset.stream().map(RewardModelSweep::rankedByGold).toList();
      } else if (!labels.equals("labelers")) {
        throw new IllegalArgumentException("labels=" + labels + ": labelers or gold");
      }
      List<Group> trainProbe = subset.subList(0, Math.min(subset.size(), 200));
      // init=<j> retrains the same setting with another head initialisation, dropout and data
      // order (0: the seed's own), to tell a setting's effect from one training run's luck
      long runSeed = seed + 7919L * Long.parseLong(kv.getOrDefault("init", "0"));
      Engine.getInstance().setRandomSeed((int) runSeed);
      Random random = new Random(runSeed);
      try (RewardModel rm = trunks.create(trunk, dropout, manager)) {
        if (kv.containsKey("freeze")) {
          rm.setTrunkTrainable(false);
        }
        int stepsPerEpoch = (subset.size() + batch - 1) / batch;
        System.out.printf(
            Locale.ROOT,
            "RM [%s] %,d parameters, %d groups on %d prompts, epoch 0: eval acc %.3f gold-acc %.3f loss %.3f%n",
            setting,
            rm.parameterCount(),
            subset.size(),
            subset.stream().map(Group::prompt).distinct().count(),
            RewardModelTraining.accuracy(rm, eval, false),
            RewardModelTraining.accuracy(rm, eval, true),
            RewardModelTraining.evalLoss(rm, eval));
        long t0 = System.nanoTime();
        RewardModelTraining.trainRewardModel(
            rm,
            subset,
            epochs,
            lr,
            wd,
            lmCoef,
            batch,
            random,
            restart,
            e ->
                System.out.printf(
                    Locale.ROOT,
                    "RM [%s] epoch %d (%d steps, %.0fs): train acc %.3f | eval acc %.3f gold-acc %.3f loss %.3f%n",
                    setting,
                    e,
                    e * stepsPerEpoch,
                    (System.nanoTime() - t0) / 1e9,
                    RewardModelTraining.accuracy(rm, trainProbe, false),
                    RewardModelTraining.accuracy(rm, eval, false),
                    RewardModelTraining.accuracy(rm, eval, true),
                    RewardModelTraining.evalLoss(rm, eval)));
        System.out.println(
            "RM ["
                + setting
                + "] after its last epoch, against the gold order by gold gap, per family:\n"
                + GoldGapAccuracy.byFamily(rm::score, eval, split::hasTwin)
                + "the same on its training groups:\n"
                + GoldGapAccuracy.byFamily(rm::score, subset, split::hasTwin));
      }
    }
  }
}
