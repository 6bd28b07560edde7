package dev.flywheel.policy.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Generation;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import dev.flywheel.simulator.LabelerPool;
import dev.flywheel.simulator.NoiseCalibration;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntConsumer;

/**
 * The benchmarks' reward models and what they learn from: groups of K samples of a policy ranked by
 * a labeler pool, a reward model trained on them with the reward trainer's loss, optimizer and
 * schedule (on plain lists instead of Kafka records), and how it is measured on groups (pairwise
 * accuracy, loss) or combined into a conservative ensemble.
 */
public final class RewardModelTraining {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  private RewardModelTraining() {}

  /**
   * One ranked candidate set: the responses, their whole sequences, the labeler's pairs (indices
   * into the responses) and each response's gold score.
   */
  record Group(
      Prompt prompt,
      List<String> texts,
      List<int[]> sequences,
      List<PairwiseRewardLoss.Comparison> pairs,
      double[] gold) {}

  /** Scores whole sequences (prompt + response + EOS). */
  interface SequenceScorer {
    float[] score(List<int[]> sequences);
  }

  /** The whole sequence a reward model scores: the prompt's user turn, the response's reply. */
  static int[] sequence(Prompt p, String response) {
    return CHAT.encode(List.of(ChatTurn.user(p.text()), ChatTurn.assistant(response)));
  }

  /** The response's text; the tokenizer skips the closing EOS. */
  static String text(Generation g) {
    return ByteTokenizer.INSTANCE.decode(g.tokens());
  }

  /**
   * The reward's offset: the mean score of the ideal answers to the first 400 training prompts (RL
   * subtracts it, as it does the reward trainer's published offset in the loop).
   */
  public static double offset(RewardModel rm, PromptSplit split) {
    float[] scores =
        rm.score(split.train().stream().limit(400).map(p -> sequence(p, p.ideal())).toList());
    double s = 0;
    for (float v : scores) {
      s += v;
    }
    return s / Math.max(1, scores.length);
  }

  /**
   * Up to {@code wanted} groups of {@code k} samples of {@code policy} on random {@code prompts},
   * ranked by {@code pool} (item keys {@code tag} + attempt); a ranking without a pair is dropped.
   */
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

  /**
   * A restart of the optimizer in the middle of training, as the reward trainer's round resumed
   * from a mid-round checkpoint has (its checkpoints hold the model, not Adam's moments): before
   * step {@code atStep} + 1 the optimizer is replaced by a fresh one whose schedule decays from the
   * rate that step would have had to the same final rate ({@code RoundTraining.optimizer}), after
   * {@code rewarmSteps} of linear warm-up (0: none, as the service resumed before it warmed up
   * again).
   */
  record Restart(int atStep, int rewarmSteps) {
    static final Restart NONE = new Restart(-1, 0);
  }

  /**
   * The reward trainer's loss, optimizer and schedule; {@code afterEpoch} gets the 1-based epoch
   * just done. With {@code lmCoef} > 0 the loss adds {@code lmCoef} × the next-token loss of each
   * group's top-tier responses through the tied embedding ({@link RewardModel#scoresAndLogits};
   * Yang et al. 2024's SFT regulariser of the reward model's hidden states); {@code restart}
   * replaces the optimizer mid-way ({@link Restart#NONE}: never).
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
      Restart restart,
      IntConsumer afterEpoch) {
    int stepsPerEpoch = (train.size() + batch - 1) / batch;
    int total = stepsPerEpoch * epochs;
    LearningRateSchedule schedule =
        new LearningRateSchedule(
            lr, Math.min(5, total - 1), total, 0.1f, LearningRateSchedule.Decay.COSINE);
    Learner learner = new Learner(adamW(schedule, weightDecay), rm);
    List<Group> order = new ArrayList<>(train);
    for (int e = 0; e < epochs; e++) {
      Collections.shuffle(order, random);
      for (int s = 0; s < stepsPerEpoch; s++) {
        int taken = e * stepsPerEpoch + s;
        if (taken == restart.atStep()) {
          float now = schedule.at(taken + 1);
          long remaining = Math.max(2, total - taken);
          LearningRateSchedule resumed =
              new LearningRateSchedule(
                  now,
                  Math.min(restart.rewarmSteps(), remaining - 1),
                  remaining,
                  Math.min(1f, lr * 0.1f / now),
                  LearningRateSchedule.Decay.COSINE);
          learner = new Learner(adamW(resumed, weightDecay), rm);
        }
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
              NDList out = rm.scoresAndLogits(tb.tokens(), tb.mask(), true);
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

  /** The reward trainer's AdamW: betas 0.9 / 0.95, gradient-norm clip 1. */
  private static OptimizerConfig adamW(LearningRateSchedule schedule, float weightDecay) {
    return new OptimizerConfig(schedule, 0.9f, 0.95f, 1e-8f, weightDecay, 1f, 1);
  }

  /** The candidates the labeler ranked first: winners of some pair, losers of none. */
  static List<Integer> topTier(Group g) {
    Set<Integer> losers = new HashSet<>();
    Set<Integer> winners = new TreeSet<>();
    for (PairwiseRewardLoss.Comparison c : g.pairs()) {
      losers.add(c.loser());
      winners.add(c.winner());
    }
    winners.removeAll(losers);
    return List.copyOf(winners);
  }

  /**
   * Mean − k·std over the members' offset-corrected scores (Coste et al. 2023's
   * uncertainty-weighted ensemble).
   */
  static SequenceScorer conservative(List<RewardModel> members, List<Double> offsets, double k) {
    return sequences -> combine(members.stream().map(m -> m.score(sequences)).toList(), offsets, k);
  }

  /** The same as a reward function for RL. */
  static RewardFunction conservativeReward(
      List<RewardModel> members, List<Double> offsets, double k) {
    List<RewardModelScorer> scorers = new ArrayList<>();
    for (RewardModel m : members) {
      scorers.add(new RewardModelScorer(m, 0));
    }
    return (prompts, responses) ->
        combine(scorers.stream().map(sc -> sc.score(prompts, responses)).toList(), offsets, k);
  }

  /** {@code reward} divided by {@code scale}. */
  static RewardFunction scaled(RewardFunction reward, double scale) {
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

  /** Mean pairwise loss on the labelled pairs of {@code groups} (chance: log 2). */
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
}
