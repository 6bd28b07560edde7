package dev.flywheel.policy.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Devices;
import dev.flywheel.model.Generation;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.NativeRuntime;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import dev.flywheel.model.ValueModel;
import dev.flywheel.model.WithinGroupScale;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.OfflineDpoTrainer;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PpoTrainer;
import dev.flywheel.policy.train.ScoreNormalizer;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.simulator.Demonstrations;
import dev.flywheel.simulator.LabelerPool;
import dev.flywheel.simulator.NoiseCalibration;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import dev.flywheel.simulator.SyntheticLabeler;
import dev.flywheel.simulator.TaskFamily;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

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
 * <p>The reward model is trained here with the reward trainer's loss, optimizer and schedule on
 * plain lists instead of Kafka records; SFT and PPO are the policy trainer's own {@link SftTrainer}
 * and {@link PpoTrainer}. See the policy trainer's README for the settings and results.
 */
public final class LoopExperiment {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  private LoopExperiment() {}

  record Group(
      Prompt prompt,
      List<String> texts,
      List<int[]> sequences,
      List<PairwiseRewardLoss.Comparison> pairs,
      double[] gold) {}

  public static void main(String[] args) throws Exception {
    NativeRuntime.configure();
    long seed = Long.parseLong(arg(args, "--seed", "1"));
    int demos = Integer.parseInt(arg(args, "--demos", "2000"));
    int groupsWanted = Integer.parseInt(arg(args, "--groups", "400"));
    int k = Integer.parseInt(arg(args, "--k", "4"));
    int rmEpochs = Integer.parseInt(arg(args, "--rm-epochs", "1"));
    float rmLr = Float.parseFloat(arg(args, "--rm-lr", "1e-3"));
    int rmBatch = Integer.parseInt(arg(args, "--rm-batch", "32"));
    // the reward trainer's lm-coef: next-token loss on the chosen responses (0 = off)
    float rmLm = Float.parseFloat(arg(args, "--rm-lm", "0"));
    int evalSamples = Integer.parseInt(arg(args, "--eval-samples", "8"));
    String[] ppoSettings = arg(args, "--ppo", "default").split(";");
    Path cache = Path.of(arg(args, "--cache", "/tmp/loop-experiment"));
    boolean verbose = Boolean.parseBoolean(arg(args, "--verbose", "true"));

    // the benchmark can hold out more prompts than the platform's 10% (--eval-fraction 0.3: ~150)
    double evalFraction =
        Double.parseDouble(
            arg(args, "--eval-fraction", Double.toString(PromptSplit.DEFAULT_EVAL_FRACTION)));
    PromptSplit split = PromptSplit.standard(evalFraction);
    List<Demonstrations.Demonstration> demonstrations =
        Demonstrations.generate(split, demos, Demonstrations.DEFAULT_IMPERFECT_SHARE, seed);
    Engine.getInstance().setRandomSeed((int) seed);
    try (NDManager manager = Devices.newManager("auto")) {
      int sftSteps = Integer.parseInt(arg(args, "--sft-steps", "600"));
      // the default keeps the cache name the earlier runs used
      // early stopping (--sft-eval-every > 0) came later: without it the cache keeps the earlier
      // runs' name
      int sftEvalEvery = Integer.parseInt(arg(args, "--sft-eval-every", "0"));
      String sftTag =
          (sftSteps == 600 ? "" : "-" + sftSteps)
              + (sftEvalEvery == 0 ? "" : "-es" + sftEvalEvery)
              + (evalFraction == PromptSplit.DEFAULT_EVAL_FRACTION ? "" : "-ef" + evalFraction);
      String sftName = "sft-" + seed + "-" + demos + sftTag;
      Path sftDir =
          SftCheckpoint.trainOrLoad(
              cache.resolve(sftName),
              GptConfig.small(),
              demonstrations,
              sftSteps,
              sftEvalEvery,
              manager);
      try (LoadedModel sft = ModelArtifacts.load(sftDir, null, manager)) {
        PolicyModel sftPolicy = sft.policy();
        sftPolicy.setTrainable(false);
        Gold sftGreedy = gold(sftPolicy, split, 1, 0f, seed);
        Gold sftSampled = gold(sftPolicy, split, evalSamples, 1f, seed);
        System.out.println("SFT      greedy " + sftGreedy + " | sampled " + sftSampled);
        // the SFT row with its temperature tuned (the learning issue's baseline row): sampled gold
        // at
        // each --temperatures value against T = 1; RL rows are then also compared with the best
        Gold sftTuned = sftSampled;
        float tunedTemperature = 1f;
        for (String t : arg(args, "--temperatures", "").split(",")) {
          if (t.isBlank()) {
            continue;
          }
          float temperature = Float.parseFloat(t);
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

        // the labelers' noise: the simulator's default (calibrated on synthetic candidate sets), a
        // number, or "policy": calibrated on this SFT policy's own samples of train prompts
        String sigmaArg = arg(args, "--sigma", Double.toString(LabelCeilings.SYNTHETIC_SIGMA));
        double sigma =
            sigmaArg.equals("policy")
                ? LabelCeilings.calibrateOnPolicy(
                    candidateSets(sftPolicy, split.train(), 500, k, new Random(seed * 31 + 1)),
                    seed)
                : Double.parseDouble(sigmaArg);
        String sigmaTag =
            sigmaArg.equals(Double.toString(LabelCeilings.SYNTHETIC_SIGMA)) ? "" : "-s" + sigmaArg;
        LabelerPool training = new LabelerPool(SyntheticLabeler.Pool.TRAINING, 5, sigma, 42);
        LabelerPool heldOut = new LabelerPool(SyntheticLabeler.Pool.HELD_OUT, 5, sigma, 42);
        Random random = new Random(seed);
        long t0 = System.nanoTime();
        List<Group> train =
            groups(sftPolicy, split.train(), training, groupsWanted, k, random, "t");
        int evalGroups =
            Integer.parseInt(
                arg(args, "--eval-groups", Integer.toString(Math.max(40, groupsWanted / 9))));
        List<Group> eval = groups(sftPolicy, split.heldOut(), heldOut, evalGroups, k, random, "e");
        System.out.printf(
            Locale.ROOT,
            "groups: %d train, %d eval (%.0fs)%n",
            train.size(),
            eval.size(),
            (System.nanoTime() - t0) / 1e9);

        LabelCeilings ceilings = LabelCeilings.of(eval, sigma, seed);
        System.out.println("eval labels: " + ceilings);
        // the reward model's trunk: the SFT policy's, or an SFT trunk of another shape
        // (RewardTrunk)
        String rmTrunk = arg(args, "--rm-trunk", RewardTrunk.POLICY);
        RewardTrunk trunks =
            new RewardTrunk(cache, sftName, demonstrations, sftSteps, sftEvalEvery, sftPolicy);
        String sweep = arg(args, "--rm-sweep", "");
        if (!sweep.isEmpty()) {
          RewardModelSweep.run(trunks, split, train, eval, sweep.split(";"), seed, manager);
          return;
        }
        Path rmDir =
            cache.resolve(
                "rm-"
                    + seed
                    + "-"
                    + demos
                    + sftTag
                    + "-"
                    + groupsWanted
                    + "-"
                    + rmEpochs
                    + "-"
                    + rmLr
                    + sigmaTag
                    + (rmLm == 0 ? "" : "-lm" + rmLm)
                    + (rmTrunk.equals(RewardTrunk.POLICY) ? "" : "-trunk" + rmTrunk));
        if (!Files.exists(rmDir.resolve(ModelArtifacts.MANIFEST))) {
          try (RewardModel fresh = trunks.create(rmTrunk, sftPolicy.config().dropout(), manager)) {
            System.out.printf(
                Locale.ROOT,
                "RM before: eval acc %.3f gold-acc %.3f%n",
                accuracy(fresh, eval, false),
                accuracy(fresh, eval, true));
            long rmStart = System.nanoTime();
            trainRewardModel(fresh, train, rmEpochs, rmLr, 0f, rmLm, rmBatch, random, e -> {});
            System.out.printf(
                Locale.ROOT,
                "RM trained in %.0fs, train acc %.3f%n",
                (System.nanoTime() - rmStart) / 1e9,
                accuracy(fresh, train, false));
            ModelArtifacts.save(rmDir, fresh, ByteTokenizer.INSTANCE, Map.of());
          }
        }
        int members = Integer.parseInt(arg(args, "--rm-ensemble", "1"));
        double ensembleK = Double.parseDouble(arg(args, "--ensemble-k", "1"));
        List<LoadedModel> loadedMembers = new ArrayList<>();
        try (LoadedModel rmLoaded = ModelArtifacts.load(rmDir, null, manager)) {
          RewardModel rm = rmLoaded.reward();
          double offset =
              mean(
                  rm.score(
                      split.train().stream().limit(400).map(p -> sequence(p, p.ideal())).toList()));
          System.out.printf(
              Locale.ROOT,
              "RM (%d groups, %d epochs): eval acc %.3f gold-acc %.3f; offset %.3f%n",
              train.size(),
              rmEpochs,
              accuracy(rm, eval, false),
              accuracy(rm, eval, true),
              offset);
          System.out.println(
              "RM against the ceilings: " + ceilings.describe(accuracy(rm, eval, false)));
          rm.setTrainable(false);
          // an ensemble (Coste et al. 2023): members 1.. differ from member 0 in head
          // initialisation and data order
          List<RewardModel> ensemble = new ArrayList<>(List.of(rm));
          List<Double> offsets = new ArrayList<>(List.of(offset));
          for (int j = 1; j < members; j++) {
            Path memberDir = Path.of(rmDir + "-e" + j);
            if (!Files.exists(memberDir.resolve(ModelArtifacts.MANIFEST))) {
              Engine.getInstance().setRandomSeed((int) (seed * 1000 + j));
              try (RewardModel fresh =
                  trunks.create(rmTrunk, sftPolicy.config().dropout(), manager)) {
                trainRewardModel(
                    fresh,
                    train,
                    rmEpochs,
                    rmLr,
                    0f,
                    rmBatch,
                    new Random(seed * 1000 + j),
                    e -> {});
                ModelArtifacts.save(memberDir, fresh, ByteTokenizer.INSTANCE, Map.of());
              }
            }
            LoadedModel member = ModelArtifacts.load(memberDir, null, manager);
            loadedMembers.add(member);
            member.reward().setTrainable(false);
            ensemble.add(member.reward());
            offsets.add(
                mean(
                    member
                        .reward()
                        .score(
                            split.train().stream()
                                .limit(400)
                                .map(p -> sequence(p, p.ideal()))
                                .toList())));
            System.out.printf(
                Locale.ROOT,
                "RM member %d: eval acc %.3f gold-acc %.3f; offset %.3f%n",
                j,
                accuracy(member.reward()::score, eval, false),
                accuracy(member.reward()::score, eval, true),
                offsets.get(j));
          }
          SequenceScorer judge =
              members == 1 ? rm::score : conservative(ensemble, offsets, ensembleK);
          if (members > 1) {
            System.out.printf(
                Locale.ROOT,
                "RM ensemble of %d, mean − %.2f·std: eval acc %.3f gold-acc %.3f%n",
                members,
                ensembleK,
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
          // Gao et al. 2022's curves: gold and proxy against √KL for best-of-n and RL checkpoints
          int curveEvery = Integer.parseInt(arg(args, "--curve-every", "0"));
          OveroptimisationCurve curve =
              new OveroptimisationCurve(
                  sftPolicy,
                  judge,
                  offset,
                  rmScale,
                  split.heldOut(),
                  Integer.parseInt(arg(args, "--curve-samples", "8")),
                  seed);
          if (Boolean.parseBoolean(arg(args, "--best-of", "false")) || curveEvery > 0) {
            BestOfNSamples drawn = bestOfN(sftPolicy, judge, split, evalSamples, sftSampled, seed);
            curve.addBestOfN(drawn.gold(), drawn.score());
          }
          Map<String, double[]> sampledBySetting = new java.util.LinkedHashMap<>();
          Map<String, double[]> tunedBySetting = new java.util.LinkedHashMap<>();
          for (String setting : ppoSettings) {
            if (setting.equals("none")) {
              continue;
            }
            if (setting.startsWith("dpo")) {
              sampledBySetting.put(
                  setting,
                  offlineDpo(
                      setting,
                      sftDir,
                      sftPolicy,
                      train,
                      split,
                      sftSampled,
                      evalSamples,
                      seed,
                      manager));
              continue;
            }
            PpoConfig ppo = ppoConfig(setting);
            double scale =
                ppo.getScoreNormalization() == PpoConfig.ScoreNormalization.REWARD_MODEL
                    ? rmScale
                    : 1.0;
            long runStart = System.nanoTime();
            try (LoadedModel start = ModelArtifacts.load(sftDir, null, manager);
                ValueModel value =
                    PolicyOptimizer.initValue(ppo, start.policy(), rm, offset, scale, manager)) {
              PolicyModel policy = start.policy();
              // "zero": no reward at all, to tell what PPO-ptx's demonstration loss does by itself
              dev.flywheel.model.RewardFunction reward =
                  setting.contains("zero")
                      ? (ps, rs) -> new float[ps.size()]
                      : members == 1
                          ? new RewardModelScorer(rm, offset, scale)
                          : scaled(conservativeReward(ensemble, offsets, ensembleK), scale);
              PolicyOptimizer trainer =
                  PolicyOptimizer.create(
                      ppo,
                      policy,
                      sftPolicy,
                      value,
                      reward,
                      ppo.getInitKlCoef(),
                      new ScoreNormalizer(),
                      ptx(ppo, demonstrations));
              List<int[]> prompts =
                  split.train().stream()
                      .map(
                          p ->
                              trainer.fitPrompt(
                                  CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text())))))
                      .toList();
              Random pr = new Random(seed * 31 + 7);
              PpoTrainer.IterationStats s = null;
              for (int it = 0; it < ppo.getIterationsPerRound(); it++) {
                List<int[]> batch = new ArrayList<>();
                for (int i = 0; i < ppo.getRolloutBatchSize(); i++) {
                  batch.add(prompts.get(pr.nextInt(prompts.size())));
                }
                s = trainer.iterate(batch, seed * 1000 + it);
                if (curveEvery > 0 && (it + 1) % curveEvery == 0) {
                  OveroptimisationCurve.Point point =
                      curve.measure(setting, "it " + (it + 1), policy);
                  System.out.printf(
                      Locale.ROOT,
                      "  curve [%s] it %d: held-out kl %.3f proxy %.3f gold %.3f%n",
                      setting,
                      it + 1,
                      point.kl(),
                      point.proxy(),
                      point.gold());
                }
                if (verbose) {
                  System.out.printf(
                      Locale.ROOT,
                      "  it %d reward %.3f±%.3f kl %.2f entropy %.2f len %.1f eos %.2f clip %.2f ev %.2f steps %d %.1fs%s%n",
                      it + 1,
                      s.meanReward(),
                      s.rewardStd(),
                      s.kl(),
                      s.entropy(),
                      s.meanResponseLength(),
                      s.eosRate(),
                      s.clipFraction(),
                      s.explainedVariance(),
                      s.updateSteps(),
                      s.totalSeconds(),
                      s.earlyStopped() ? " (early stop)" : "");
                }
              }
              double trainSeconds = (System.nanoTime() - runStart) / 1e9;
              Gold greedy = gold(policy, split, 1, 0f, seed);
              Gold sampled = gold(policy, split, evalSamples, 1f, seed);
              System.out.printf(
                  Locale.ROOT,
                  "RL [%s] reward %.3f kl %.2f β %.3f trained in %.0fs | greedy %s | sampled %s | sampled − SFT %s | gold win rate vs SFT %s%n",
                  setting,
                  s.meanReward(),
                  s.kl(),
                  s.beta(),
                  trainSeconds,
                  greedy,
                  sampled,
                  pairedDifference(sampled.perPrompt(), sftSampled.perPrompt(), seed),
                  winRate(sampled.perSample(), sftSampled.perSample(), evalSamples, seed));
              if (sftTuned != sftSampled) {
                // against the temperature-tuned SFT: RL sampled at T = 1, and at the same tuned T
                // (how much of RL's gain is only a sharper distribution, which the temperature
                // gives SFT for free)
                System.out.printf(
                    Locale.ROOT,
                    "RL [%s] − SFT at T=%.2f (its best temperature) sampled gold %s | gold win rate %s%n",
                    setting,
                    tunedTemperature,
                    pairedDifference(sampled.perPrompt(), sftTuned.perPrompt(), seed),
                    winRate(sampled.perSample(), sftTuned.perSample(), evalSamples, seed));
                Gold rlTuned = gold(policy, split, evalSamples, tunedTemperature, seed);
                System.out.printf(
                    Locale.ROOT,
                    "RL [%s] at T=%.2f sampled %s | − SFT at T=%.2f %s | gold win rate %s%n",
                    setting,
                    tunedTemperature,
                    rlTuned,
                    tunedTemperature,
                    pairedDifference(rlTuned.perPrompt(), sftTuned.perPrompt(), seed),
                    winRate(rlTuned.perSample(), sftTuned.perSample(), evalSamples, seed));
                tunedBySetting.put(setting, rlTuned.perPrompt());
              }
              sampledBySetting.put(setting, sampled.perPrompt());
            }
          }
          for (LoadedModel member : loadedMembers) {
            member.close();
          }
          if (curveEvery > 0) {
            System.out.println("Gold and proxy against √KL (Gao et al. 2022):\n" + curve.report());
          }
          // the reward model's share: each setting against the ptx-only control (reward 0), paired
          // by prompt
          sampledBySetting.forEach(
              (control, controlGold) -> {
                // the rankings' share in offline DPO: each setting against its shuffled-rankings
                // control
                if (control.contains(",shuffle")) {
                  double[] gold = sampledBySetting.get(control.replace(",shuffle", ""));
                  if (gold != null) {
                    System.out.printf(
                        Locale.ROOT,
                        "DPO [%s] − [%s] sampled gold %s%n",
                        control.replace(",shuffle", ""),
                        control,
                        pairedDifference(gold, controlGold, seed));
                  }
                }
                if (control.contains("zero")) {
                  sampledBySetting.forEach(
                      (setting, gold) -> {
                        if (!setting.contains("zero")) {
                          System.out.printf(
                              Locale.ROOT,
                              "RL [%s] − [%s] sampled gold %s%n",
                              setting,
                              control,
                              pairedDifference(gold, controlGold, seed));
                          double[] tuned = tunedBySetting.get(setting);
                          double[] controlTuned = tunedBySetting.get(control);
                          if (tuned != null && controlTuned != null) {
                            System.out.printf(
                                Locale.ROOT,
                                "RL [%s] − [%s], both at the tuned temperature, sampled gold %s%n",
                                setting,
                                control,
                                pairedDifference(tuned, controlTuned, seed));
                          }
                        }
                      });
                }
              });
          // --compare A:B prints the paired difference A − B of two settings (e.g. a knob's effect)
          for (String pair : arg(args, "--compare", "").split(";")) {
            if (pair.isBlank()) {
              continue;
            }
            String[] ab = pair.split(":");
            if (ab.length != 2
                || !sampledBySetting.containsKey(ab[0])
                || !sampledBySetting.containsKey(ab[1])) {
              System.out.printf(
                  Locale.ROOT,
                  "--compare %s: not two settings A:B that ran (ran: %s)%n",
                  pair,
                  sampledBySetting.keySet());
            } else {
              System.out.printf(
                  Locale.ROOT,
                  "[%s] − [%s] sampled gold %s%n",
                  ab[0],
                  ab[1],
                  pairedDifference(sampledBySetting.get(ab[0]), sampledBySetting.get(ab[1]), seed));
            }
          }
        }
      }
    }
  }

  static PpoConfig ppoConfig(String setting) {
    PpoConfig c = new PpoConfig();
    if (setting.equals("default")) {
      return c;
    }
    for (String kv : setting.split(",")) {
      String[] p = kv.split("=");
      switch (p[0]) {
        case "it" -> c.setIterationsPerRound(Integer.parseInt(p[1]));
        case "lr" -> c.setLearningRate(Float.parseFloat(p[1]));
        case "kl" -> c.setKlTarget(Double.parseDouble(p[1]));
        case "beta" -> c.setInitKlCoef(Double.parseDouble(p[1]));
        case "fixed" -> c.setKlControl(PpoConfig.KlControl.FIXED);
        case "ptx" -> c.setPtxCoef(Float.parseFloat(p[1]));
        case "epochs" -> c.setPpoEpochs(Integer.parseInt(p[1]));
        case "batch" -> c.setRolloutBatchSize(Integer.parseInt(p[1]));
        case "k" -> c.setSamplesPerPrompt(Integer.parseInt(p[1]));
        case "algo" ->
            c.setAlgorithm(
                PpoConfig.Algorithm.valueOf(p[1].toUpperCase(Locale.ROOT).replace('-', '_')));
        case "dbeta" -> c.setDpoBeta(Float.parseFloat(p[1]));
        case "ipo" -> c.setDpoLoss(PpoConfig.DpoLoss.IPO);
        case "ls" -> c.setDpoLabelSmoothing(Float.parseFloat(p[1]));
        case "mb" -> c.setMiniBatchSize(Integer.parseInt(p[1]));
        case "zero", "default" -> {}
        case "tkl" -> c.setTargetKl(Float.parseFloat(p[1]));
        case "norm" ->
            c.setScoreNormalization(
                PpoConfig.ScoreNormalization.valueOf(
                    p[1].toUpperCase(Locale.ROOT).replace('-', '_')));
        case "vclip" -> c.setCliprangeValue(Float.parseFloat(p[1]));
        default -> throw new IllegalArgumentException(kv);
      }
    }
    return c;
  }

  /**
   * Offline DPO from the SFT parent on the reward model's own training groups (no reward model, no
   * ptx).
   */
  static double[] offlineDpo(
      String setting,
      Path sftDir,
      PolicyModel sftPolicy,
      List<Group> train,
      PromptSplit split,
      Gold sftSampled,
      int evalSamples,
      long seed,
      NDManager manager)
      throws Exception {
    DpoConfig config = dpoConfig(setting);
    // "shuffle": the control that keeps everything but the rankings' content (candidates permuted
    // within
    // their group, so the pairs name random winners); what survives it is not learned from the
    // rankings
    Random shuffle = setting.contains("shuffle") ? new Random(seed * 7919) : null;
    List<OfflineDpoTrainer.RankedGroup> groups =
        train.stream()
            .map(
                g -> {
                  List<dev.flywheel.model.SftExample> candidates =
                      new ArrayList<>(
                          g.texts().stream()
                              .map(
                                  t ->
                                      CHAT.sftExample(List.of(ChatTurn.user(g.prompt().text())), t))
                              .toList());
                  if (shuffle != null) {
                    java.util.Collections.shuffle(candidates, shuffle);
                  }
                  return new OfflineDpoTrainer.RankedGroup(
                      candidates,
                      g.pairs().stream().map(c -> new int[] {c.winner(), c.loser()}).toList());
                })
            .toList();
    long start = System.nanoTime();
    try (LoadedModel loaded = ModelArtifacts.load(sftDir, null, manager)) {
      PolicyModel policy = loaded.policy();
      OfflineDpoTrainer.Result r =
          new OfflineDpoTrainer(config)
              .train(policy, sftPolicy, groups, new OfflineDpoTrainer.Listener() {});
      double seconds = (System.nanoTime() - start) / 1e9;
      Gold greedy = gold(policy, split, 1, 0f, seed);
      Gold sampled = gold(policy, split, evalSamples, 1f, seed);
      System.out.printf(
          Locale.ROOT,
          "DPO [%s] loss %.3f margin %.2f acc %.2f over %d pairs, %d steps in %.0fs | greedy %s | sampled %s | sampled − SFT %s | gold win rate vs SFT %s%n",
          setting,
          r.loss(),
          r.margin(),
          r.accuracy(),
          r.pairs(),
          r.steps(),
          seconds,
          greedy,
          sampled,
          pairedDifference(sampled.perPrompt(), sftSampled.perPrompt(), seed),
          winRate(sampled.perSample(), sftSampled.perSample(), evalSamples, seed));
      return sampled.perPrompt();
    }
  }

  /** "dpo[,lr=..][,beta=..][,epochs=..][,ls=..][,ipo][,gps=..]" */
  static DpoConfig dpoConfig(String setting) {
    DpoConfig c = new DpoConfig();
    for (String kv : setting.split(",")) {
      String[] p = kv.split("=");
      switch (p[0]) {
        case "dpo", "shuffle" -> {}
        case "lr" -> c.setLearningRate(Float.parseFloat(p[1]));
        case "beta" -> c.setBeta(Float.parseFloat(p[1]));
        case "epochs" -> c.setEpochs(Integer.parseInt(p[1]));
        case "ls" -> c.setLabelSmoothing(Float.parseFloat(p[1]));
        case "ipo" -> c.setLoss(PpoConfig.DpoLoss.IPO);
        case "rpo" -> c.setRpoAlpha(Float.parseFloat(p[1]));
        case "gps" -> c.setGroupsPerStep(Integer.parseInt(p[1]));
        default -> throw new IllegalArgumentException(kv);
      }
    }
    return c;
  }

  public static List<dev.flywheel.model.SftExample> ptx(
      PpoConfig ppo, List<Demonstrations.Demonstration> demonstrations) {
    if (ppo.getPtxCoef() == 0) {
      return List.of();
    }
    return demonstrations.stream()
        .map(d -> CHAT.sftExample(List.of(ChatTurn.user(d.prompt().text())), d.response()))
        .toList();
  }

  public static int[] sequence(Prompt p, String response) {
    return CHAT.encode(List.of(ChatTurn.user(p.text()), ChatTurn.assistant(response)));
  }

  static List<Group> groups(
      PolicyModel policy,
      List<Prompt> prompts,
      LabelerPool pool,
      int wanted,
      int k,
      Random random,
      String tag) {
    Sampler sampler = new Sampler(policy);
    List<Group> out = new ArrayList<>();
    int attempts = 0;
    while (out.size() < wanted && attempts < wanted * 3) {
      for (NoiseCalibration.CandidateSet set : sampleBatch(sampler, prompts, k, random)) {
        attempts++;
        Prompt p = set.prompt();
        List<String> texts = set.responses();
        String key = tag + attempts;
        List<List<Integer>> tiers = pool.forItem(key).rank(p, texts, key);
        List<PairwiseRewardLoss.Comparison> pairs = new ArrayList<>();
        for (int a = 0; a < tiers.size(); a++) {
          for (int c = a + 1; c < tiers.size(); c++) {
            for (int w : tiers.get(a)) {
              for (int l : tiers.get(c)) {
                pairs.add(new PairwiseRewardLoss.Comparison(w, l));
              }
            }
          }
        }
        if (pairs.isEmpty()) {
          continue;
        }
        double[] gold = texts.stream().mapToDouble(p::gold).toArray();
        out.add(
            new Group(
                p,
                List.copyOf(texts),
                texts.stream().map(t -> sequence(p, t)).toList(),
                pairs,
                gold));
      }
    }
    return out;
  }

  /**
   * {@code sets} unranked candidate sets of {@code k} samples from the policy (for calibration).
   */
  static List<NoiseCalibration.CandidateSet> candidateSets(
      PolicyModel policy, List<Prompt> prompts, int sets, int k, Random random) {
    Sampler sampler = new Sampler(policy);
    List<NoiseCalibration.CandidateSet> out = new ArrayList<>();
    while (out.size() < sets) {
      out.addAll(sampleBatch(sampler, prompts, k, random));
    }
    return List.copyOf(out.subList(0, sets));
  }

  /** 16 random prompts, {@code k} samples of each at the rollout temperature. */
  private static List<NoiseCalibration.CandidateSet> sampleBatch(
      Sampler sampler, List<Prompt> prompts, int k, Random random) {
    List<Prompt> batch = new ArrayList<>();
    List<int[]> encoded = new ArrayList<>();
    for (int b = 0; b < 16; b++) {
      Prompt p = prompts.get(random.nextInt(prompts.size()));
      batch.add(p);
      for (int i = 0; i < k; i++) {
        encoded.add(CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text()))));
      }
    }
    List<Generation> gens =
        sampler.generate(encoded, SamplingConfig.ppoRollout(48, random.nextLong()));
    List<NoiseCalibration.CandidateSet> out = new ArrayList<>();
    for (int b = 0; b < batch.size(); b++) {
      List<String> texts = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        texts.add(text(gens.get(b * k + i)));
      }
      out.add(new NoiseCalibration.CandidateSet(batch.get(b), texts));
    }
    return out;
  }

  /** The response's text; the tokenizer skips the closing EOS. */
  static String text(Generation g) {
    return ByteTokenizer.INSTANCE.decode(g.tokens());
  }

  /**
   * The reward trainer's loss, optimizer and schedule; {@code afterEpoch} gets the 1-based epoch
   * just done.
   */
  static void trainRewardModel(
      RewardModel rm,
      List<Group> train,
      int epochs,
      float lr,
      float weightDecay,
      int batch,
      Random random,
      java.util.function.IntConsumer afterEpoch) {
    trainRewardModel(rm, train, epochs, lr, weightDecay, 0f, batch, random, afterEpoch);
  }

  /**
   * With {@code lmCoef} > 0 the loss adds {@code lmCoef} × the next-token loss of each group's
   * top-tier responses through the tied embedding ({@link RewardModel#scoresAndLogits}; Yang et al.
   * 2024's SFT regulariser of the reward model's hidden states).
   */
  static void trainRewardModel(
      RewardModel rm,
      List<Group> train,
      int epochs,
      float lr,
      float weightDecay,
      float lmCoef,
      int batch,
      Random random,
      java.util.function.IntConsumer afterEpoch) {
    int stepsPerEpoch = (train.size() + batch - 1) / batch;
    int total = stepsPerEpoch * epochs;
    LearningRateSchedule schedule =
        new LearningRateSchedule(
            lr, Math.min(5, total - 1), total, 0.1f, LearningRateSchedule.Decay.COSINE);
    Learner learner =
        new Learner(new OptimizerConfig(schedule, 0.9f, 0.95f, 1e-8f, weightDecay, 1f, 1), rm);
    List<Group> order = new ArrayList<>(train);
    for (int e = 0; e < epochs; e++) {
      Collections.shuffle(order, random);
      for (int s = 0; s < stepsPerEpoch; s++) {
        List<Group> step = order.subList(s * batch, Math.min(order.size(), (s + 1) * batch));
        learner.step(
            (sm, micro) -> {
              List<int[]> seqs = new ArrayList<>();
              List<List<PairwiseRewardLoss.Comparison>> comps = new ArrayList<>();
              for (Group g : step) {
                int base = seqs.size();
                comps.add(
                    g.pairs().stream()
                        .map(
                            c ->
                                new PairwiseRewardLoss.Comparison(
                                    c.winner() + base, c.loser() + base))
                        .toList());
                seqs.addAll(g.sequences());
              }
              TokenBatch tb = TokenBatch.of(sm, seqs, TokenBatch.Side.RIGHT);
              if (lmCoef == 0) {
                return PairwiseRewardLoss.compute(rm.scores(tb.tokens(), tb.mask(), true), comps)
                    .loss();
              }
              ai.djl.ndarray.NDList out = rm.scoresAndLogits(tb.tokens(), tb.mask(), true);
              List<Integer> chosen = new ArrayList<>();
              int row = 0;
              for (Group g : step) {
                for (int i : topTier(g)) {
                  chosen.add(row + i);
                }
                row += g.sequences().size();
              }
              NDArray lmMask =
                  SftLoss.lastAssistantTurnMask(
                      sm, seqs, chosen, (int) tb.tokens().getShape().get(1));
              return PairwiseRewardLoss.compute(out.get(0), comps)
                  .loss()
                  .add(SftLoss.loss(out.get(1), tb.tokens(), lmMask).mul(lmCoef));
            });
      }
      afterEpoch.accept(e + 1);
    }
  }

  /** Scores whole sequences (prompt + response + EOS). */
  interface SequenceScorer {
    float[] score(List<int[]> sequences);
  }

  /**
   * Mean − k·std over the members' offset-corrected scores (Coste et al. 2023's
   * uncertainty-weighted ensemble).
   */
  static SequenceScorer conservative(List<RewardModel> members, List<Double> offsets, double k) {
    return sequences -> combine(members.stream().map(m -> m.score(sequences)).toList(), offsets, k);
  }

  /** The same as a reward function for RL. */
  static dev.flywheel.model.RewardFunction conservativeReward(
      List<RewardModel> members, List<Double> offsets, double k) {
    List<RewardModelScorer> scorers = new ArrayList<>();
    for (RewardModel m : members) {
      scorers.add(new RewardModelScorer(m, 0));
    }
    return (prompts, responses) ->
        combine(scorers.stream().map(sc -> sc.score(prompts, responses)).toList(), offsets, k);
  }

  static dev.flywheel.model.RewardFunction scaled(
      dev.flywheel.model.RewardFunction reward, double scale) {
    return (prompts, responses) -> {
      float[] s = reward.score(prompts, responses);
      for (int i = 0; i < s.length; i++) {
        s[i] = (float) (s[i] / scale);
      }
      return s;
    };
  }

  static float[] combine(List<float[]> scores, List<Double> offsets, double k) {
    int n = scores.get(0).length;
    int m = scores.size();
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      double sum = 0;
      double sq = 0;
      for (int j = 0; j < m; j++) {
        double v = scores.get(j)[i] - offsets.get(j);
        sum += v;
        sq += v * v;
      }
      double mean = sum / m;
      double var = Math.max(0, sq / m - mean * mean);
      out[i] = (float) (mean - k * Math.sqrt(var));
    }
    return out;
  }

  /** The candidates the labeler ranked first: winners of some pair, losers of none. */
  static List<Integer> topTier(Group g) {
    java.util.Set<Integer> losers = new java.util.HashSet<>();
    java.util.Set<Integer> winners = new java.util.TreeSet<>();
    for (PairwiseRewardLoss.Comparison c : g.pairs()) {
      losers.add(c.loser());
      winners.add(c.winner());
    }
    winners.removeAll(losers);
    return List.copyOf(winners);
  }

  static double evalLoss(RewardModel rm, List<Group> groups) {
    double sum = 0;
    for (Group g : groups) {
      float[] s = rm.score(g.sequences());
      double l = 0;
      for (PairwiseRewardLoss.Comparison c : g.pairs()) {
        double d = s[c.winner()] - s[c.loser()];
        l += d > 30 ? 0 : Math.log1p(Math.exp(-d));
      }
      sum += l / g.pairs().size();
    }
    return sum / Math.max(1, groups.size());
  }

  /** Pairwise accuracy against the labels ({@code byGold} false) or the gold order. */
  static double accuracy(RewardModel rm, List<Group> groups, boolean byGold) {
    return accuracy(rm::score, groups, byGold);
  }

  static double accuracy(SequenceScorer rm, List<Group> groups, boolean byGold) {
    double right = 0;
    int n = 0;
    for (Group g : groups) {
      float[] s = rm.score(g.sequences());
      if (byGold) {
        for (int a = 0; a < s.length; a++) {
          for (int b = a + 1; b < s.length; b++) {
            if (g.gold()[a] != g.gold()[b]) {
              boolean goldA = g.gold()[a] > g.gold()[b];
              right += (s[a] > s[b]) == goldA ? 1 : 0;
              n++;
            }
          }
        }
      } else {
        for (PairwiseRewardLoss.Comparison c : g.pairs()) {
          right += s[c.winner()] > s[c.loser()] ? 1 : 0;
          n++;
        }
      }
    }
    return right / Math.max(1, n);
  }

  /**
   * Held-out gold: the mean, per family, and per held-out prompt (in {@code split.heldOut()} order,
   * for pairing).
   */
  public record Gold(
      double mean, Map<TaskFamily, Double> byFamily, double[] perPrompt, double[] perSample) {
    @Override
    public String toString() {
      StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%.3f (", mean));
      byFamily.forEach(
          (f, v) ->
              b.append(
                  String.format(
                      Locale.ROOT,
                      "%s %.2f ",
                      f.name().substring(0, 4).toLowerCase(Locale.ROOT),
                      v)));
      return b.append(')').toString();
    }
  }

  public static Gold gold(
      PolicyModel policy, PromptSplit split, int samples, float temperature, long seed) {
    Sampler sampler = new Sampler(policy);
    List<Prompt> prompts = new ArrayList<>();
    List<int[]> encoded = new ArrayList<>();
    for (Prompt p : split.heldOut()) {
      for (int i = 0; i < samples; i++) {
        prompts.add(p);
        encoded.add(CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text()))));
      }
    }
    SamplingConfig config =
        temperature == 0
            ? SamplingConfig.greedy(48)
            : SamplingConfig.ppoRollout(48, seed).withTemperature(temperature);
    List<Generation> gens = new ArrayList<>();
    for (int from = 0; from < encoded.size(); from += 64) {
      gens.addAll(
          sampler.generate(
              encoded.subList(from, Math.min(encoded.size(), from + 64)),
              config.withSeed(seed + from)));
    }
    Map<TaskFamily, double[]> fam = new EnumMap<>(TaskFamily.class);
    double sum = 0;
    double[] perPrompt = new double[split.heldOut().size()];
    double[] perSample = new double[gens.size()];
    for (int i = 0; i < gens.size(); i++) {
      double g = prompts.get(i).gold(text(gens.get(i)));
      perSample[i] = g;
      sum += g;
      perPrompt[i / samples] += g / samples;
      double[] f = fam.computeIfAbsent(prompts.get(i).family(), x -> new double[2]);
      f[0] += g;
      f[1]++;
    }
    Map<TaskFamily, Double> byFamily = new EnumMap<>(TaskFamily.class);
    fam.forEach((f, v) -> byFamily.put(f, v[0] / v[1]));
    return new Gold(sum / gens.size(), byFamily, perPrompt, perSample);
  }

  /**
   * Mean of {@code a − b} over prompts and its 95% paired-bootstrap interval (2,000 resamples of
   * the prompts, percentile method): the prompts are the unit, so per-prompt difficulty cancels
   * out.
   */
  public static String pairedDifference(double[] a, double[] b, long seed) {
    int n = a.length;
    double[] d = new double[n];
    for (int i = 0; i < n; i++) {
      d[i] = a[i] - b[i];
    }
    double[] m = meanAndInterval(d, seed);
    return String.format(Locale.ROOT, "%+.3f [%+.3f, %+.3f]", m[0], m[1], m[2]);
  }

  /** Mean of {@code d} and its 95% bootstrap interval (2,000 resamples, percentile method). */
  static double[] meanAndInterval(double[] d, long seed) {
    int n = d.length;
    double mean = 0;
    for (double x : d) {
      mean += x / n;
    }
    Random random = new Random(seed);
    double[] boot = new double[2000];
    for (int r = 0; r < boot.length; r++) {
      double m = 0;
      for (int i = 0; i < n; i++) {
        m += d[random.nextInt(n)] / n;
      }
      boot[r] = m;
    }
    java.util.Arrays.sort(boot);
    return new double[] {mean, boot[49], boot[1950]};
  }

  /**
   * Best-of-n from the SFT policy (n = 2, 4, 8), picked by the reward model and by gold (the
   * headroom a perfect reward model would give): {@code samples} draws of n fresh samples per
   * held-out prompt, each draw's pick scored by gold; KL(best-of-n ‖ SFT) = log n − (n − 1)/n nats
   * (Stiennon et al. 2020). Printed against SFT like the RL rows: sampled gold minus SFT and gold
   * win rate, both with intervals.
   */
  /** Responses drawn from SFT for best-of-n: gold and reward-model score per held-out prompt. */
  record BestOfNSamples(double[][] gold, float[][] score) {}

  static BestOfNSamples bestOfN(
      PolicyModel sft,
      SequenceScorer rm,
      PromptSplit split,
      int samples,
      Gold sftSampled,
      long seed) {
    int maxN = 8;
    Sampler sampler = new Sampler(sft);
    List<Prompt> heldOut = split.heldOut();
    int perPrompt = samples * maxN;
    double[][] gold = new double[heldOut.size()][perPrompt];
    float[][] score = new float[heldOut.size()][perPrompt];
    for (int p = 0; p < heldOut.size(); p++) {
      Prompt prompt = heldOut.get(p);
      int[] encoded = CHAT.encodeForGeneration(List.of(ChatTurn.user(prompt.text())));
      for (int from = 0; from < perPrompt; from += 64) {
        int count = Math.min(64, perPrompt - from);
        List<int[]> batch = Collections.nCopies(count, encoded);
        List<Generation> gens =
            sampler.generate(batch, SamplingConfig.ppoRollout(48, seed * 7919 + p * 1000L + from));
        List<int[]> sequences = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          String text = text(gens.get(i));
          gold[p][from + i] = prompt.gold(text);
          sequences.add(sequence(prompt, text));
        }
        float[] s = rm.score(sequences);
        System.arraycopy(s, 0, score[p], from, count);
      }
    }
    for (int n : new int[] {2, 4, 8}) {
      for (boolean byGold : new boolean[] {false, true}) {
        double[] pickedPerPrompt = new double[heldOut.size()];
        double[] pickedPerSample = new double[heldOut.size() * samples];
        Map<TaskFamily, double[]> fam = new EnumMap<>(TaskFamily.class);
        for (int p = 0; p < heldOut.size(); p++) {
          for (int d = 0; d < samples; d++) {
            int best = d * n;
            for (int i = d * n + 1; i < (d + 1) * n; i++) {
              if (byGold ? gold[p][i] > gold[p][best] : score[p][i] > score[p][best]) {
                best = i;
              }
            }
            pickedPerPrompt[p] += gold[p][best] / samples;
            pickedPerSample[p * samples + d] = gold[p][best];
            double[] f = fam.computeIfAbsent(heldOut.get(p).family(), x -> new double[2]);
            f[0] += gold[p][best];
            f[1]++;
          }
        }
        double mean = java.util.Arrays.stream(pickedPerPrompt).average().orElse(Double.NaN);
        StringBuilder families = new StringBuilder();
        fam.forEach(
            (f, v) ->
                families.append(
                    String.format(
                        Locale.ROOT,
                        "%s %.2f ",
                        f.name().substring(0, 4).toLowerCase(Locale.ROOT),
                        v[0] / v[1])));
        System.out.printf(
            Locale.ROOT,
            "best-of-%d by %s: kl %.2f | sampled %.3f (%s) | sampled − SFT %s | gold win rate vs SFT %s%n",
            n,
            byGold ? "gold" : "the reward model",
            Math.log(n) - (n - 1.0) / n,
            mean,
            families.toString().strip(),
            pairedDifference(pickedPerPrompt, sftSampled.perPrompt(), seed),
            winRate(pickedPerSample, sftSampled.perSample(), samples, seed));
      }
    }
    return new BestOfNSamples(gold, score);
  }

  /**
   * Gold win rate of {@code a} over {@code b}: sample i of a prompt against sample i of the other
   * policy (the same sampling seed: common random numbers), a win 1, a tie ½, noise-free; the mean
   * over prompts of each prompt's win rate, with its 95% bootstrap interval over prompts.
   */
  static String winRate(double[] a, double[] b, int samples, long seed) {
    int n = a.length / samples;
    double[] perPrompt = new double[n];
    for (int p = 0; p < n; p++) {
      for (int i = p * samples; i < (p + 1) * samples; i++) {
        perPrompt[p] += (a[i] > b[i] ? 1 : a[i] == b[i] ? 0.5 : 0) / samples;
      }
    }
    double[] m = meanAndInterval(perPrompt, seed);
    return String.format(Locale.ROOT, "%.3f [%.3f, %.3f]", m[0], m[1], m[2]);
  }

  public static double mean(float[] values) {
    double s = 0;
    for (float v : values) {
      s += v;
    }
    return s / Math.max(1, values.length);
  }

  static String arg(String[] args, String name, String fallback) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return fallback;
  }
}
