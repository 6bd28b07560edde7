package dev.flywheel.policy.bench;

import static dev.flywheel.policy.bench.HeldOutEvaluation.gold;
import static dev.flywheel.policy.bench.HeldOutEvaluation.pairedDifference;
import static dev.flywheel.policy.bench.HeldOutEvaluation.winRate;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.SftExample;
import dev.flywheel.policy.bench.HeldOutEvaluation.Gold;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.policy.bench.RewardModelTraining.SequenceScorer;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.IterationStats;
import dev.flywheel.policy.train.OfflineDpoTrainer;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.simulator.Demonstrations;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * LoopExperiment's RL stage: each {@code --ppo} setting ({@link RlSettings}: a PPO-family algorithm
 * against the reward, or offline DPO on the ranked groups) trained from the SFT policy and scored
 * on held-out gold against SFT; once all ran, {@link #report} compares them with each other (the
 * ptx-only and shuffled-rankings controls, {@code --compare}).
 */
final class RlStage {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  /**
   * The SFT policy every setting starts from, and the sampled gold each is compared with: at T = 1
   * and at SFT's best {@code --temperatures} value ({@code tuned} is {@code sampled} without one).
   */
  record SftBaseline(
      Path dir, PolicyModel policy, Gold sampled, Gold tuned, float tunedTemperature) {}

  /**
   * What the PPO-family settings optimise: the reward model, or with {@code members} > 1 the
   * conservative ensemble of {@code ensemble}; {@code judge} scores sequences the same way, and
   * {@code scale} is its reward_scale (pooled within-group std on the eval groups).
   */
  record Reward(
      RewardModel rm,
      double offset,
      int members,
      List<RewardModel> ensemble,
      List<Double> offsets,
      double ensembleK,
      SequenceScorer judge,
      double scale)
      implements RlRounds.ValueSource {

    /** The (first) reward model, which a PPO value model starts from ({@code ppo.value-init}). */
    @Override
    public RewardModel rewardModel() {
      return rm;
    }

    /**
     * The setting's reward, divided by {@code settingScale} (reward_scale under {@code
     * norm=reward-model}, else 1): none at all for a "zero" setting; the simulator's gold for a
     * "gold" one ({@link #goldReward}).
     */
    RewardFunction forSetting(String setting, double settingScale, PromptSplit split) {
      if (setting.contains("gold")) {
        return goldReward(split, settingScale);
      }
      // "zero": no reward at all, to tell what PPO-ptx's demonstration loss does by itself
      return setting.contains("zero")
          ? (ps, rs) -> new float[ps.size()]
          : members == 1
              ? new RewardModelScorer(rm, offset, settingScale)
              : RewardModelTraining.scaled(
                  RewardModelTraining.conservativeReward(ensemble, offsets, ensembleK),
                  settingScale);
    }
  }

  /**
   * The headroom of RL: the noise-free gold score in place of the reward model, 2 × (gold − 1) —
   * the ideal answer at 0, as the reward model's offset puts it, and a spread near the reward
   * model's (its within-group std is ~0.6–0.7 on these policies) so that the same KL settings
   * apply. What RL reaches with it bounds what any reward model could give it at this KL budget.
   */
  static RewardFunction goldReward(PromptSplit split, double settingScale) {
    Map<String, Prompt> byTokens = new HashMap<>();
    for (Prompt p : split.train()) {
      byTokens.put(Arrays.toString(CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text())))), p);
    }
    return (prompts, responses) -> {
      float[] out = new float[prompts.size()];
      for (int i = 0; i < out.length; i++) {
        Prompt p = byTokens.get(Arrays.toString(prompts.get(i)));
        if (p == null) {
          throw new IllegalStateException("gold reward: a prompt that is not a training prompt");
        }
        int[] r = responses.get(i);
        int n = r.length > 0 && r[r.length - 1] == ByteTokenizer.EOS ? r.length - 1 : r.length;
        String text = ByteTokenizer.INSTANCE.decode(Arrays.copyOf(r, n));
        out[i] = (float) (2 * (p.gold(text) - 1) / settingScale);
      }
      return out;
    };
  }

  private final LoopExperimentOptions options;
  private final PromptSplit split;
  private final List<Demonstrations.Demonstration> demonstrations;
  private final List<Group> train;
  private final SftBaseline sft;
  private final Reward reward;
  private final OveroptimisationCurve curve;
  private final RewardRefresh.Context refreshContext;
  private final NDManager manager;

  /** Each setting's sampled gold per held-out prompt, in the order they ran. */
  private final Map<String, double[]> sampledBySetting = new LinkedHashMap<>();

  /** The same at SFT's tuned temperature (PPO settings, only with {@code --temperatures}). */
  private final Map<String, double[]> tunedBySetting = new LinkedHashMap<>();

  /**
   * @param train the reward model's training groups (offline DPO's data)
   * @param curve where RL checkpoints go every {@code --curve-every} iterations
   * @param refreshContext what a setting's on-policy reward-model refresh needs ({@link
   *     RewardRefresh})
   */
  RlStage(
      LoopExperimentOptions options,
      PromptSplit split,
      List<Demonstrations.Demonstration> demonstrations,
      List<Group> train,
      SftBaseline sft,
      Reward reward,
      OveroptimisationCurve curve,
      RewardRefresh.Context refreshContext,
      NDManager manager) {
    this.options = options;
    this.split = split;
    this.demonstrations = demonstrations;
    this.train = train;
    this.sft = sft;
    this.reward = reward;
    this.curve = curve;
    this.refreshContext = refreshContext;
    this.manager = manager;
  }

  /** Trains and scores one setting: offline DPO for "dpo…", else a PPO-family algorithm. */
  void run(String setting) throws Exception {
    // a setting's value head, dropout and DPO order come from the engine's generator: seeded here,
    // its result no longer depends on the settings before it or on what the cache held
    Engine.getInstance().setRandomSeed((int) options.seed());
    if (setting.startsWith("dpo")) {
      sampledBySetting.put(setting, offlineDpo(setting));
    } else {
      ppo(setting);
    }
  }

  /** A PPO-family setting against the reward, then its gold rows against SFT. */
  private void ppo(String setting) throws Exception {
    PpoConfig ppo = RlSettings.ppoConfig(setting);
    double scale =
        ppo.getScoreNormalization() == PpoConfig.ScoreNormalization.REWARD_MODEL
            ? reward.scale()
            : 1.0;
    long runStart = System.nanoTime();
    RewardRefresh.Settings refreshSettings = RewardRefresh.Settings.parse(setting);
    if (refreshSettings.any() && (setting.contains("gold") || setting.contains("zero"))) {
      throw new IllegalArgumentException(
          setting + ": a refreshed reward model replaces the reward");
    }
    try (RewardRefresh refresh =
            refreshSettings.any()
                ? new RewardRefresh(refreshSettings, refreshContext, scale)
                : null;
        LoadedModel start = ModelArtifacts.load(sft.dir(), null, manager);
        RlRounds rounds =
            new RlRounds(
                ppo,
                start.policy(),
                sft.policy(),
                refresh != null ? refresh : reward.forSetting(setting, scale, split),
                refresh != null ? refresh : reward,
                scale,
                RlSettings.ptx(ppo, demonstrations),
                manager)) {
      PolicyModel policy = start.policy();
      IterationStats s = iterate(setting, ppo, rounds, policy, refresh);
      double trainSeconds = (System.nanoTime() - runStart) / 1e9;
      Scored scored = scoreAgainstSft(policy);
      System.out.printf(
          Locale.ROOT,
          "RL [%s] reward %.3f kl %.2f β %.3f trained in %.0fs | %s%n",
          setting,
          s.meanReward(),
          s.kl(),
          s.beta(),
          trainSeconds,
          scored.row());
      if (sft.tuned() != sft.sampled()) {
        tunedBySetting.put(setting, againstTunedSft(setting, policy, scored.sampled()));
      }
      sampledBySetting.put(setting, scored.sampled().perPrompt());
    }
  }

  /**
   * The setting's iterations on random training prompts, each with its stats ({@code --verbose})
   * and every {@code --curve-every} a curve point, the reward model's on-policy refreshes ({@code
   * refresh}, null for none) and the setting's rounds ({@code round=N}, {@link RlRounds}); returns
   * the last iteration's stats.
   */
  private IterationStats iterate(
      String setting, PpoConfig ppo, RlRounds rounds, PolicyModel policy, RewardRefresh refresh) {
    long seed = options.seed();
    int curveEvery = options.curveEvery();
    int roundLength = RlRounds.length(setting);
    boolean fromSft = RlRounds.fromSft(setting);
    PolicyOptimizer first = rounds.first();
    List<int[]> prompts =
        split.train().stream()
            .map(p -> first.fitPrompt(CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text())))))
            .toList();
    PolicyOptimizer trainer = first;
    Random pr = new Random(seed * 31 + 7);
    IterationStats s = null;
    for (int it = 0; it < ppo.getIterationsPerRound(); it++) {
      List<int[]> batch = new ArrayList<>();
      for (int i = 0; i < ppo.getRolloutBatchSize(); i++) {
        batch.add(prompts.get(pr.nextInt(prompts.size())));
      }
      s = trainer.iterate(batch, seed * 1000 + it);
      if (curveEvery > 0 && (it + 1) % curveEvery == 0) {
        OveroptimisationCurve.Point point = curve.measure(setting, "it " + (it + 1), policy);
        System.out.printf(
            Locale.ROOT,
            "  curve [%s] it %d: held-out kl %.3f proxy %.3f gold %.3f%n",
            setting,
            it + 1,
            point.kl(),
            point.proxy(),
            point.gold());
      }
      if (options.verbose()) {
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
      if (refresh != null && refresh.due(it + 1, ppo.getIterationsPerRound())) {
        refresh.refresh(policy);
      }
      if (RlRounds.startsAfter(roundLength, it + 1, ppo.getIterationsPerRound())) {
        trainer = fromSft ? rounds.nextFromReference() : rounds.next(s.beta());
        System.out.printf(
            Locale.ROOT,
            "  round %d from iteration %d%s, β %.3f%n",
            rounds.rounds(),
            it + 2,
            fromSft ? " (from SFT)" : "",
            fromSft ? ppo.getInitKlCoef() : s.beta());
      }
    }
    return s;
  }

  /**
   * Against the temperature-tuned SFT: RL sampled at T = 1, and at the same tuned T (how much of
   * RL's gain is only a sharper distribution, which the temperature gives SFT for free); returns
   * the policy's gold per prompt at the tuned T.
   */
  private double[] againstTunedSft(String setting, PolicyModel policy, Gold sampled) {
    long seed = options.seed();
    int evalSamples = options.evalSamples();
    float tunedTemperature = sft.tunedTemperature();
    Gold sftTuned = sft.tuned();
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
    return rlTuned.perPrompt();
  }

  /**
   * Offline DPO from the SFT parent on the reward model's own training groups (no reward model, no
   * ptx); returns its sampled gold per held-out prompt.
   */
  private double[] offlineDpo(String setting) throws Exception {
    DpoConfig config = RlSettings.dpoConfig(setting);
    // "shuffle": the control that keeps everything but the rankings' content (candidates permuted
    // within their group, so the pairs name random winners); what survives it is not learned from
    // the rankings
    Random shuffle = setting.contains("shuffle") ? new Random(options.seed() * 7919) : null;
    List<OfflineDpoTrainer.RankedGroup> groups =
        train.stream()
            .map(
                g -> {
                  List<SftExample> candidates =
                      new ArrayList<>(
                          g.texts().stream()
                              .map(
                                  t ->
                                      CHAT.sftExample(List.of(ChatTurn.user(g.prompt().text())), t))
                              .toList());
                  if (shuffle != null) {
                    Collections.shuffle(candidates, shuffle);
                  }
                  return new OfflineDpoTrainer.RankedGroup(
                      candidates,
                      g.pairs().stream().map(c -> new int[] {c.winner(), c.loser()}).toList());
                })
            .toList();
    long start = System.nanoTime();
    try (LoadedModel loaded = ModelArtifacts.load(sft.dir(), null, manager)) {
      PolicyModel policy = loaded.policy();
      OfflineDpoTrainer.Result r =
          new OfflineDpoTrainer(config)
              .train(policy, sft.policy(), groups, new OfflineDpoTrainer.Listener() {});
      double seconds = (System.nanoTime() - start) / 1e9;
      Scored scored = scoreAgainstSft(policy);
      System.out.printf(
          Locale.ROOT,
          "DPO [%s] loss %.3f margin %.2f acc %.2f over %d pairs, %d steps in %.0fs | %s%n",
          setting,
          r.loss(),
          r.margin(),
          r.accuracy(),
          r.pairs(),
          r.steps(),
          seconds,
          scored.row());
      return scored.sampled().perPrompt();
    }
  }

  /** A trained policy's sampled gold, and its row against SFT. */
  private record Scored(Gold sampled, String row) {}

  /**
   * The trained policy's held-out gold, greedy and sampled at T = 1, with the sampled gold against
   * SFT's: "greedy … | sampled … | sampled − SFT … | gold win rate vs SFT …".
   */
  private Scored scoreAgainstSft(PolicyModel policy) {
    long seed = options.seed();
    int evalSamples = options.evalSamples();
    Gold greedy = gold(policy, split, 1, 0f, seed);
    Gold sampled = gold(policy, split, evalSamples, 1f, seed);
    return new Scored(
        sampled,
        String.format(
            Locale.ROOT,
            "greedy %s | sampled %s | sampled − SFT %s | gold win rate vs SFT %s",
            greedy,
            sampled,
            pairedDifference(sampled.perPrompt(), sft.sampled().perPrompt(), seed),
            winRate(sampled.perSample(), sft.sampled().perSample(), evalSamples, seed)));
  }

  /**
   * After every setting ran: the curves ({@code --curve-every}), each offline DPO setting against
   * its shuffled-rankings control, every setting against each ptx-only control (reward 0: the
   * reward model's share), and the pairs {@code --compare} names; all paired by prompt.
   */
  void report() {
    long seed = options.seed();
    if (options.curveEvery() > 0) {
      System.out.println("Gold and proxy against √KL (Gao et al. 2022):\n" + curve.report());
    }
    sampledBySetting.forEach(
        (control, controlGold) -> {
          // the rankings' share in offline DPO: each setting against its shuffled-rankings control
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
            againstZeroControl(control, controlGold);
          }
        });
    // --compare A:B prints the paired difference A − B of two settings (e.g. a knob's effect)
    for (String pair : options.compare().split(";")) {
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

  /** Every other setting minus the ptx-only {@code control}, at T = 1 and at the tuned T. */
  private void againstZeroControl(String control, double[] controlGold) {
    long seed = options.seed();
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
}
