package dev.flywheel.policy.bench;

import static dev.flywheel.policy.bench.HeldOutEvaluation.gold;
import static dev.flywheel.policy.bench.HeldOutEvaluation.pairedDifference;
import static dev.flywheel.policy.bench.HeldOutEvaluation.winRate;
import static dev.flywheel.policy.bench.RewardModelTraining.accuracy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.Devices;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.WithinGroupScale;
import dev.flywheel.policy.bench.HeldOutEvaluation.BestOfNSamples;
import dev.flywheel.policy.bench.HeldOutEvaluation.Gold;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.policy.bench.RewardModelTraining.SequenceScorer;
import dev.flywheel.policy.train.PpoTrainer;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.simulator.Demonstrations;
import dev.flywheel.simulator.LabelerPool;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import dev.flywheel.simulator.SyntheticLabeler;
import dev.flywheel.simulator.TaskFamily;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The RLHF recipe of the loop in one process, without Kafka: SFT on the simulator's demonstrations,
 * K-way candidate sets sampled from the SFT policy and ranked by the simulator's TRAINING labelers,
 * a reward model trained on them (from the SFT trunk, pairwise loss, as the reward trainer does),
 * PPO against it, and the held-out gold score of SFT and PPO (greedy and sampled at temperature 1).
 * It answers "does this setting make PPO beat SFT on gold?" in minutes instead of an end-to-end
 * run.
 *
 * <pre>
 * mvn -q -pl services/policy-trainer test-compile exec:java -Dbench.main=dev.flywheel.policy.bench.LoopExperiment \
 *     -Dexec.args="--seed 1 --groups 400 --rm-epochs 16 --eval-samples 32 --ppo default;ptx=0"
 * </pre>
 *
 * <p>This class runs the stages in order ({@link LoopExperimentOptions} reads the command line):
 * SFT and its held-out baseline, the ranked groups, the reward model (or {@code --rm-sweep}'s
 * {@link RewardModelSweep} instead of the rest), best-of-n, and the RL stage ({@link RlStage}). The
 * reward model is trained by {@link RewardModelTraining} with the reward trainer's loss, optimizer
 * and schedule on plain lists instead of Kafka records; SFT and PPO are the policy trainer's own
 * {@link SftTrainer} and {@link PpoTrainer}; gold and its paired statistics are {@link
 * HeldOutEvaluation}'s. See the policy trainer's README for the settings and results.
 */
public final class LoopExperiment {

  private LoopExperiment() {}

  /**
   * The ranked groups: train groups by the TRAINING labelers, eval groups on held-out prompts by
   * the HELD_OUT ones, and the eval labels' ceilings; {@code random}, which drew them, goes on to
   * order the reward model's training data; {@code labelers} are the TRAINING labelers (they rank
   * the policy's samples again in {@link RewardRefresh}).
   */
  record LabelledGroups(
      List<Group> train,
      List<Group> eval,
      LabelCeilings ceilings,
      Random random,
      LabelerPool labelers) {}

  public static void main(String[] args) throws Exception {
    NativeRuntime.configure();
    LoopExperimentOptions o = LoopExperimentOptions.parse(args);
    PromptSplit split = PromptSplit.standard(o.evalFraction());
    List<Demonstrations.Demonstration> demonstrations =
        Demonstrations.generate(split, o.demos(), Demonstrations.DEFAULT_IMPERFECT_SHARE, o.seed());
    Engine.getInstance().setRandomSeed((int) o.seed());
    try (NDManager manager = Devices.newManager("auto")) {
      Path sftDir =
          SftCheckpoint.trainOrLoad(
              o.cache().resolve(o.sftName()),
              GptConfig.small(),
              demonstrations,
              o.sftSteps(),
              o.sftEvalEvery(),
              manager);
      try (LoadedModel sft = ModelArtifacts.load(sftDir, null, manager)) {
        PolicyModel sftPolicy = sft.policy();
        sftPolicy.setTrainable(false);
        RlStage.SftBaseline baseline = sftBaseline(o, sftDir, sftPolicy, split);
        LabelledGroups groups = labelledGroups(o, sftPolicy, split);
        RewardTrunk trunks =
            new RewardTrunk(
                o.cache(), o.sftName(), demonstrations, o.sftSteps(), o.sftEvalEvery(), sftPolicy);
        if (!o.rmSweep().isEmpty()) {
          RewardModelSweep.run(
              trunks,
              split,
              groups.train(),
              groups.eval(),
              o.rmSweep().split(";"),
              o.seed(),
              manager);
          return;
        }
        Path rmDir = trainOrLoadRewardModel(o, trunks, groups, sftPolicy, manager);
        List<LoadedModel> members = new ArrayList<>();
        try (LoadedModel rmLoaded = ModelArtifacts.load(rmDir, null, manager)) {
          RlStage.Reward reward =
              reward(
                  o, rmLoaded.reward(), rmDir, trunks, groups, split, sftPolicy, members, manager);
          // Gao et al. 2022's curves: gold and proxy against √KL for best-of-n and RL checkpoints
          OveroptimisationCurve curve =
              new OveroptimisationCurve(
                  sftPolicy,
                  reward.judge(),
                  reward.offset(),
                  reward.scale(),
                  split.heldOut(),
                  o.curveSamples(),
                  o.seed());
          if (o.bestOf() || o.curveEvery() > 0) {
            BestOfNSamples drawn =
                HeldOutEvaluation.bestOfN(
                    sftPolicy,
                    reward.judge(),
                    split,
                    o.evalSamples(),
                    baseline.sampled(),
                    o.seed());
            curve.addBestOfN(drawn.gold(), drawn.score());
          }
          RewardRefresh.Context refresh =
              new RewardRefresh.Context(
                  o,
                  trunks,
                  rmDir,
                  split,
                  groups.train(),
                  groups.eval(),
                  groups.labelers(),
                  sftPolicy.config().dropout(),
                  manager);
          RlStage rl =
              new RlStage(
                  o,
                  split,
                  demonstrations,
                  groups.train(),
                  baseline,
                  reward,
                  curve,
                  refresh,
                  manager);
          for (String setting : o.ppoSettings()) {
            if (!setting.equals("none")) {
              rl.run(setting);
            }
          }
          for (LoadedModel member : members) {
            member.close();
          }
          rl.report();
        }
      }
    }
  }

  /**
   * SFT's held-out gold, greedy and sampled at T = 1, and sampled at each {@code --temperatures}
   * value against T = 1: the best of them is the temperature-tuned SFT row (the learning issue's
   * baseline row) that RL rows are also compared with.
   */
  private static RlStage.SftBaseline sftBaseline(
      LoopExperimentOptions o, Path sftDir, PolicyModel sftPolicy, PromptSplit split) {
    long seed = o.seed();
    int evalSamples = o.evalSamples();
    Gold sftGreedy = gold(sftPolicy, split, 1, 0f, seed);
    Gold sftSampled = gold(sftPolicy, split, evalSamples, 1f, seed);
    System.out.println("SFT      greedy " + sftGreedy + " | sampled " + sftSampled);
    Gold sftTuned = sftSampled;
    float tunedTemperature = 1f;
    for (float temperature : o.temperatures()) {
      Gold g = gold(sftPolicy, split, evalSamples, temperature, seed);
      System.out.printf(
          Locale.ROOT,
          "SFT      T=%.2f sampled %s | − SFT at T=1 %s | gold win rate vs T=1 %s%n",
          temperature,
          g,
          pairedDifference(g.perPrompt(), sftSampled.perPrompt(), seed),
          winRate(g.perSample(), sftSampled.perSample(), evalSamples, seed));
      if (g.mean() > sftTuned.mean()) {
        sftTuned = g;
        tunedTemperature = temperature;
      }
    }
    return new RlStage.SftBaseline(sftDir, sftPolicy, sftSampled, sftTuned, tunedTemperature);
  }

  /** K samples of the SFT policy per prompt, ranked: the reward model's data and its test. */
  private static LabelledGroups labelledGroups(
      LoopExperimentOptions o, PolicyModel sftPolicy, PromptSplit split) {
    long seed = o.seed();
    // the labelers' noise: the simulator's default (calibrated on synthetic candidate sets), a
    // number, or "policy": calibrated on this SFT policy's own samples of train prompts
    double sigma =
        o.sigmaOnPolicy()
            ? LabelCeilings.calibrateOnPolicy(
                RewardModelTraining.candidateSets(
                    sftPolicy, split.train(), 500, o.k(), new Random(seed * 31 + 1)),
                seed)
            : Double.parseDouble(o.sigma());
    LabelerPool training = new LabelerPool(SyntheticLabeler.Pool.TRAINING, 5, sigma, 42);
    LabelerPool heldOut = new LabelerPool(SyntheticLabeler.Pool.HELD_OUT, 5, sigma, 42);
    Random random = new Random(seed);
    long t0 = System.nanoTime();
    List<Group> train =
        RewardModelTraining.groups(
            sftPolicy, split.train(), training, o.groups(), o.k(), random, "t");
    List<Group> eval =
        RewardModelTraining.groups(
            sftPolicy, split.heldOut(), heldOut, o.evalGroups(), o.k(), random, "e");
    System.out.printf(
        Locale.ROOT,
        "groups: %d train, %d eval (%.0fs)%n",
        train.size(),
        eval.size(),
        (System.nanoTime() - t0) / 1e9);
    if (o.comparisons() != null) {
      try {
        ExportedComparisons.Split run =
            ExportedComparisons.read(o.comparisons(), o.comparisonsUntil(), o.groups());
        System.out.println("bench's own groups: train " + mix(train) + "; eval " + mix(eval));
        train = run.train();
        eval = run.eval();
        System.out.println(
            "groups from "
                + o.comparisons()
                + " instead: train "
                + train.size()
                + " "
                + mix(train)
                + "; eval "
                + eval.size()
                + " "
                + mix(eval));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    LabelCeilings ceilings = LabelCeilings.of(eval, sigma, seed);
    System.out.println("eval labels: " + ceilings);
    return new LabelledGroups(train, eval, ceilings, random, training);
  }

  /** Groups and distinct prompts per task family. */
  private static String mix(List<Group> groups) {
    Map<TaskFamily, Set<Prompt>> byFamily = new TreeMap<>();
    groups.forEach(
        g -> byFamily.computeIfAbsent(g.prompt().family(), f -> new HashSet<>()).add(g.prompt()));
    return byFamily.entrySet().stream()
        .map(
            e ->
                e.getKey().name().toLowerCase(Locale.ROOT)
                    + " "
                    + groups.stream().filter(g -> g.prompt().family() == e.getKey()).count()
                    + " on "
                    + e.getValue().size())
        .collect(Collectors.joining(", ", "(", " prompts)"));
  }

  /**
   * The reward model on the train groups, from the SFT trunk or {@code --rm-trunk}'s, unless the
   * cache holds it; returns its directory.
   */
  private static Path trainOrLoadRewardModel(
      LoopExperimentOptions o,
      RewardTrunk trunks,
      LabelledGroups groups,
      PolicyModel sftPolicy,
      NDManager manager)
      throws IOException {
    Path rmDir = o.cache().resolve(o.rewardModelName());
    if (Files.exists(rmDir.resolve(ModelArtifacts.MANIFEST))) {
      return rmDir;
    }
    // the head's initialisation comes from the engine's generator: seeded here, it no longer
    // depends on whether SFT was trained in this process or loaded from the cache
    Engine.getInstance().setRandomSeed((int) o.seed());
    try (RewardModel fresh = trunks.create(o.rmTrunk(), sftPolicy.config().dropout(), manager)) {
      System.out.printf(
          Locale.ROOT,
          "RM before: eval acc %.3f gold-acc %.3f%n",
          accuracy(fresh, groups.eval(), false),
          accuracy(fresh, groups.eval(), true));
      long rmStart = System.nanoTime();
      RewardModelTraining.trainRewardModel(
          fresh,
          groups.train(),
          o.rmEpochs(),
          o.rmLr(),
          0f,
          o.rmLm(),
          o.rmBatch(),
          groups.random(),
          RewardModelTraining.Restart.NONE,
          e -> {});
      System.out.printf(
          Locale.ROOT,
          "RM trained in %.0fs, train acc %.3f%n",
          (System.nanoTime() - rmStart) / 1e9,
          accuracy(fresh, groups.train(), false));
      ModelArtifacts.save(rmDir, fresh, ByteTokenizer.INSTANCE, Map.of());
    }
    return rmDir;
  }

  /**
   * Ensemble member {@code j} (Coste et al. 2023): member 0's settings with another head
   * initialisation and data order (and without {@code --rm-lm}), trained unless the cache holds it;
   * opened for the caller to close.
   */
  private static LoadedModel ensembleMember(
      LoopExperimentOptions o,
      int j,
      Path rmDir,
      RewardTrunk trunks,
      List<Group> train,
      PolicyModel sftPolicy,
      NDManager manager)
      throws IOException {
    Path memberDir = Path.of(rmDir + "-e" + j);
    if (!Files.exists(memberDir.resolve(ModelArtifacts.MANIFEST))) {
      // another head initialisation than member 0's, the same whether or not SFT was trained in
      // this process
      Engine.getInstance().setRandomSeed((int) (o.seed() * 1000 + j));
      try (RewardModel fresh = trunks.create(o.rmTrunk(), sftPolicy.config().dropout(), manager)) {
        RewardModelTraining.trainRewardModel(
            fresh,
            train,
            o.rmEpochs(),
            o.rmLr(),
            0f,
            0f,
            o.rmBatch(),
            new Random(o.seed() * 1000 + j),
            RewardModelTraining.Restart.NONE,
            e -> {});
        ModelArtifacts.save(memberDir, fresh, ByteTokenizer.INSTANCE, Map.of());
      }
    }
    return ModelArtifacts.load(memberDir, null, manager);
  }

  /**
   * The reward RL optimises, measured on the eval groups: the reward model against the labels and
   * their ceilings, and with {@code --rm-ensemble} its members (added to {@code members}, for the
   * caller to close) and their conservative judge; the judge's reward_scale and its accuracy by
   * gold gap.
   */
  private static RlStage.Reward reward(
      LoopExperimentOptions o,
      RewardModel rm,
      Path rmDir,
      RewardTrunk trunks,
      LabelledGroups groups,
      PromptSplit split,
      PolicyModel sftPolicy,
      List<LoadedModel> members,
      NDManager manager)
      throws IOException {
    List<Group> train = groups.train();
    List<Group> eval = groups.eval();
    double offset = RewardModelTraining.offset(rm, split);
    System.out.printf(
        Locale.ROOT,
        "RM (%d groups, %d epochs): eval acc %.3f gold-acc %.3f; offset %.3f%n",
        train.size(),
        o.rmEpochs(),
        accuracy(rm, eval, false),
        accuracy(rm, eval, true),
        offset);
    System.out.println(
        "RM against the ceilings: " + groups.ceilings().describe(accuracy(rm, eval, false)));
    rm.setTrainable(false);
    List<RewardModel> ensemble = new ArrayList<>(List.of(rm));
    List<Double> offsets = new ArrayList<>(List.of(offset));
    for (int j = 1; j < o.rmEnsemble(); j++) {
      LoadedModel member = ensembleMember(o, j, rmDir, trunks, train, sftPolicy, manager);
      members.add(member);
      member.reward().setTrainable(false);
      ensemble.add(member.reward());
      offsets.add(RewardModelTraining.offset(member.reward(), split));
      System.out.printf(
          Locale.ROOT,
          "RM member %d: eval acc %.3f gold-acc %.3f; offset %.3f%n",
          j,
          accuracy(member.reward()::score, eval, false),
          accuracy(member.reward()::score, eval, true),
          offsets.get(j));
    }
    SequenceScorer judge =
        o.rmEnsemble() == 1
            ? rm::score
            : RewardModelTraining.conservative(ensemble, offsets, o.ensembleK());
    if (o.rmEnsemble() > 1) {
      System.out.printf(
          Locale.ROOT,
          "RM ensemble of %d, mean − %.2f·std: eval acc %.3f gold-acc %.3f%n",
          o.rmEnsemble(),
          o.ensembleK(),
          accuracy(judge, eval, false),
          accuracy(judge, eval, true));
    }
    // the reward trainer's reward_scale: pooled within-group std on the eval groups
    WithinGroupScale within = new WithinGroupScale();
    for (Group g : eval) {
      within.add(judge.score(g.sequences()));
    }
    double rmScale = within.value();
    System.out.printf(Locale.ROOT, "RM reward_scale (within-group std) %.3f%n", rmScale);
    System.out.println(
        "RM accuracy by gold gap (eval groups):\n"
            + GoldGapAccuracy.of(judge, eval).table()
            + "RM against the gold order by gold gap, per family (pairs):\n"
            + GoldGapAccuracy.byFamily(judge, eval, split::hasTwin)
            + "the same on its own training groups (fit, not generalisation):\n"
            + GoldGapAccuracy.byFamily(judge, train, split::hasTwin));
    return new RlStage.Reward(
        rm, offset, o.rmEnsemble(), ensemble, offsets, o.ensembleK(), judge, rmScale);
  }
}
