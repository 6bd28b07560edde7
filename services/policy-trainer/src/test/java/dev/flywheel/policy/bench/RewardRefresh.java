package dev.flywheel.policy.bench;

import static dev.flywheel.policy.bench.RewardModelTraining.accuracy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.simulator.LabelerPool;
import dev.flywheel.simulator.PromptSplit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The loop's continuous reward-model refresh, offline: what the platform does between RL rounds
 * when product apps rank the served RL policy's own answers. Every {@code every} RL iterations,
 * {@code refresh} new groups of K samples of the current policy on training prompts are ranked by
 * the TRAINING labelers, and the reward model is warm-started on them plus a seeded replay sample
 * of the groups it learned before ({@code replay-fraction} 0.5 × new, the reward trainer's round);
 * RL's reward then switches to it, with its new offset. A setting names it with {@code
 * refresh=N,every=M} and, to hold the number of rankings equal to a one-shot reward model's, {@code
 * rm0=N0}: the reward model it starts from is trained on the first N0 of the one-shot model's
 * groups only (Bai et al. 2022's "iterated online RLHF"; Llama 2's reward models were retrained on
 * each new batch of rankings of the latest RLHF model's samples, Touvron et al. 2023).
 *
 * <p>Before each refresh it prints how often the reward model in use orders the new on-policy pairs
 * as gold does: its accuracy where RL is looking, not on SFT's samples.
 */
final class RewardRefresh implements RewardFunction, RlRounds.ValueSource, AutoCloseable {

  /**
   * The reward trainer's {@code replay-fraction} default: replayed earlier groups per new group
   * ({@code replay=F} sets another).
   */
  static final double REPLAY_FRACTION = 0.5;

  /**
   * A setting's refresh keys; {@code refresh} 0 means none.
   *
   * @param refresh new on-policy groups per refresh
   * @param every RL iterations between refreshes
   * @param startGroups the starting reward model's groups (the first of the one-shot model's); 0
   *     for the one-shot reward model itself (a PPO value head starts from the reward model in use
   *     when its round starts, {@code ppo.value-init}, {@link RlRounds})
   * @param replay earlier groups replayed per new group in a refresh ({@code replay=F}, default
   *     {@link #REPLAY_FRACTION}; at most all of them)
   */
  record Settings(int refresh, int every, int startGroups, double replay) {

    Settings(int refresh, int every, int startGroups) {
      this(refresh, every, startGroups, REPLAY_FRACTION);
    }

    static Settings parse(String setting) {
      int refresh = 0;
      int every = 0;
      int start = 0;
      double replay = REPLAY_FRACTION;
      for (String kv : setting.split(",")) {
        String[] p = kv.split("=");
        switch (p[0]) {
          case "refresh" -> refresh = Integer.parseInt(p[1]);
          case "every" -> every = Integer.parseInt(p[1]);
          case "rm0" -> start = Integer.parseInt(p[1]);
          case "replay" -> replay = Double.parseDouble(p[1]);
          default -> {}
        }
      }
      if ((refresh > 0) != (every > 0)) {
        throw new IllegalArgumentException(setting + ": refresh=N needs every=M, and the reverse");
      }
      if (replay < 0) {
        throw new IllegalArgumentException(setting + ": replay=F needs F >= 0");
      }
      return new Settings(refresh, every, start, replay);
    }

    boolean any() {
      return refresh > 0 || startGroups > 0;
    }
  }

  /** What a refresh needs from the experiment: the data, the labelers, where to train. */
  record Context(
      LoopExperimentOptions options,
      RewardTrunk trunks,
      Path rmDir,
      PromptSplit split,
      List<Group> train,
      List<Group> eval,
      LabelerPool labelers,
      float dropout,
      NDManager manager) {}

  private final Settings settings;
  private final Context context;
  private final double scale;
  private final LoadedModel loaded;
  private final RewardModel rm;
  private final List<Group> learned;
  private final Random random;
  private RewardFunction current;
  private double offset;
  private int refreshes;

  /**
   * Opens the starting reward model (trained on the first {@code rm0} groups unless the cache holds
   * it), a copy this setting may train.
   *
   * @param scale the setting's reward scale, kept across refreshes
   */
  RewardRefresh(Settings settings, Context context, double scale) throws IOException {
    this.settings = settings;
    this.context = context;
    this.scale = scale;
    LoopExperimentOptions o = context.options();
    List<Group> start =
        settings.startGroups() > 0
            ? context.train().subList(0, Math.min(settings.startGroups(), context.train().size()))
            : context.train();
    Path dir =
        settings.startGroups() > 0
            ? startModel(Path.of(context.rmDir() + "-first" + settings.startGroups()), start)
            : context.rmDir();
    this.loaded = ModelArtifacts.load(dir, null, context.manager());
    this.rm = loaded.reward();
    this.learned = new ArrayList<>(start);
    this.random = new Random(o.seed() * 7 + 3);
    rm.setTrainable(false);
    this.current = scorer();
    System.out.printf(
        Locale.ROOT,
        "  refresh: start from %d groups: eval acc %.3f gold-acc %.3f%n",
        start.size(),
        accuracy(rm, context.eval(), false),
        accuracy(rm, context.eval(), true));
  }

  /** The reward model on {@code groups} from the SFT trunk, trained unless the cache holds it. */
  private Path startModel(Path dir, List<Group> groups) throws IOException {
    if (!Files.exists(dir.resolve(ModelArtifacts.MANIFEST))) {
      LoopExperimentOptions o = context.options();
      Engine.getInstance().setRandomSeed((int) o.seed());
      try (RewardModel fresh =
          context.trunks().create(o.rmTrunk(), context.dropout(), context.manager())) {
        RewardModelTraining.trainRewardModel(
            fresh,
            groups,
            o.rmEpochs(),
            o.rmLr(),
            0f,
            o.rmLm(),
            o.rmBatch(),
            new Random(o.seed()),
            RewardModelTraining.Restart.NONE,
            e -> {});
        ModelArtifacts.save(dir, fresh, ByteTokenizer.INSTANCE, Map.of());
      }
    }
    return dir;
  }

  /** Whether RL iteration {@code done} (1-based, just finished) is followed by a refresh. */
  boolean due(int done, int iterations) {
    return due(settings, done, iterations);
  }

  static boolean due(Settings settings, int done, int iterations) {
    return settings.refresh() > 0 && done % settings.every() == 0 && done < iterations;
  }

  /**
   * One refresh: the current policy's samples ranked, the reward model's accuracy on them before it
   * learns them, its warm-started round on them plus replay, its new offset.
   */
  void refresh(PolicyModel policy) {
    LoopExperimentOptions o = context.options();
    refreshes++;
    long t0 = System.nanoTime();
    List<Group> sampled =
        RewardModelTraining.groups(
            policy,
            context.split().train(),
            context.labelers(),
            settings.refresh(),
            o.k(),
            random,
            "r" + refreshes + "-");
    // groups() fills whole sampling batches; exactly N keeps the rankings' count equal
    List<Group> fresh = sampled.subList(0, Math.min(settings.refresh(), sampled.size()));
    double before = accuracy(rm, fresh, false);
    double beforeGold = accuracy(rm, fresh, true);
    List<Group> round = new ArrayList<>(fresh);
    List<Group> pool = new ArrayList<>(learned);
    Collections.shuffle(pool, random);
    round.addAll(pool.subList(0, (int) Math.min(pool.size(), settings.replay() * fresh.size())));
    rm.setTrainable(true);
    RewardModelTraining.trainRewardModel(
        rm,
        round,
        o.rmEpochs(),
        o.rmLr(),
        0f,
        o.rmLm(),
        o.rmBatch(),
        random,
        RewardModelTraining.Restart.NONE,
        e -> {});
    rm.setTrainable(false);
    learned.addAll(fresh);
    current = scorer();
    System.out.printf(
        Locale.ROOT,
        "  refresh %d: %d on-policy groups, the reward model before them: labeler acc %.3f"
            + " gold-acc %.3f; after (%d groups trained, %d in all): eval acc %.3f gold-acc %.3f"
            + " (%.0fs)%n",
        refreshes,
        fresh.size(),
        before,
        beforeGold,
        round.size(),
        learned.size(),
        accuracy(rm, context.eval(), false),
        accuracy(rm, context.eval(), true),
        (System.nanoTime() - t0) / 1e9);
  }

  private RewardFunction scorer() {
    offset = RewardModelTraining.offset(rm, context.split());
    return new RewardModelScorer(rm, offset, scale);
  }

  @Override
  public RewardModel rewardModel() {
    return rm;
  }

  /** The reward model in use's offset (recomputed at each refresh). */
  @Override
  public double offset() {
    return offset;
  }

  @Override
  public float[] score(List<int[]> prompts, List<int[]> responses) {
    return current.score(prompts, responses);
  }

  @Override
  public void close() {
    loaded.close();
  }
}
