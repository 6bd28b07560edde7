package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.flywheel.model.DpoLoss;
import dev.flywheel.model.InferenceSession;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Offline DPO straight from human rankings: no reward model, no sampling. Each ranked group is one
 * prompt's candidates and the (winner, loser) pairs its ranking implies; every pair of a group
 * enters the DPO (or IPO) loss of {@link DpoLoss} with weight 1 / (pairs in the group), so a group
 * counts once whatever its size — the weighting InstructGPT gives its reward model's C(K, 2)
 * comparisons. The reference is the parent policy; its sequence log-probs are computed once, before
 * the first step (TRL {@code precompute_ref_log_probs}). Sequence log-probs are summed over
 * response tokens. No dropout in the forward passes, so that the policy and the reference agree
 * exactly at step 0 (h = 0, loss log 2).
 */
public final class OfflineDpoTrainer {

  /**
   * One prompt's ranked candidates.
   *
   * @param candidates each candidate as a chat example (prompt tokens, response tokens)
   * @param pairs (winner index, loser index) into {@code candidates}
   */
  public record RankedGroup(List<SftExample> candidates, List<int[]> pairs) {
    public RankedGroup {
      candidates = List.copyOf(candidates);
      pairs = List.copyOf(pairs);
      for (int[] p : pairs) {
        if (p.length != 2
            || p[0] == p[1]
            || p[0] < 0
            || p[1] < 0
            || p[0] >= candidates.size()
            || p[1] >= candidates.size()) {
          throw new IllegalArgumentException(
              "a pair must name two different candidates of the group");
        }
      }
    }
  }

  /** After every optimizer step: means over the step's pairs (group-weighted). */
  public interface Listener {
    default void onStep(int step, int totalSteps, double loss, double margin, double accuracy) {}

    /** Polled before every step; true ends the round early with {@link Stopped}. */
    default boolean stopRequested() {
      return false;
    }
  }

  /** Thrown when {@link Listener#stopRequested()} turned true; {@code step} steps are done. */
  public static final class Stopped extends RuntimeException {
    private final int step;

    public Stopped(int step) {
      super("stopped after step " + step, null, false, false);
      this.step = step;
    }

    public int step() {
      return step;
    }
  }

  /**
   * Held-out figures of a policy against its reference on ranked groups, each group's pairs
   * weighted 1 / their count as in training.
   *
   * @param loss the training loss (DPO, cDPO or IPO as configured; no RPO term)
   * @param margin mean implicit-reward margin h (nats)
   * @param accuracy share of pairs with h &gt; 0, a tie (h = 0) counting ½: the reference scores
   *     exactly 0.5 against itself
   * @param groups groups with at least one pair
   * @param pairs pairs in those groups
   */
  public record Evaluation(double loss, double margin, double accuracy, int groups, int pairs) {}

  /**
   * @param loss mean DPO loss over the last epoch's steps
   * @param margin mean implicit-reward margin h (nats) over the last epoch
   * @param accuracy share of pairs (group-weighted) with h &gt; 0 over the last epoch
   * @param steps optimizer steps
   * @param groups ranked groups with at least one pair
   * @param pairs pairs in those groups
   * @param skippedSteps steps whose gradient was not finite
   */
  public record Result(
      double loss,
      double margin,
      double accuracy,
      int steps,
      int groups,
      int pairs,
      int skippedSteps) {}

  private final DpoConfig config;

  public OfflineDpoTrainer(DpoConfig config) {
    this.config = config.copy().validate();
  }

  public DpoConfig config() {
    return config;
  }

  /** Optimizer steps {@code groups} ranked groups take. */
  public int totalSteps(int groups) {
    return config.getEpochs()
        * Math.max(1, (groups + config.getGroupsPerStep() - 1) / config.getGroupsPerStep());
  }

  /**
   * Trains {@code policy} in place against the frozen {@code reference} on the groups that hold a
   * pair.
   */
  public Result train(
      PolicyModel policy, PolicyModel reference, List<RankedGroup> groups, Listener listener) {
    return train(policy, reference, groups, 0, listener);
  }

  /**
   * {@link #train(PolicyModel, PolicyModel, List, Listener)} from after step {@code fromStep}
   * (non-zero when resuming a checkpointed round over the same groups): the group order is replayed
   * from the seed, so the remaining steps see the batches they would have seen; the optimizer
   * moments start afresh, and what was left of the warmup runs again. The result's means cover the
   * steps of the last epoch run here.
   */
  public Result train(
      PolicyModel policy,
      PolicyModel reference,
      List<RankedGroup> groups,
      int fromStep,
      Listener listener) {
    List<RankedGroup> usable = groups.stream().filter(g -> !g.pairs().isEmpty()).toList();
    if (usable.isEmpty()) {
      throw new IllegalArgumentException("no ranked group holds a pair");
    }
    int contextLength = policy.config().contextLength();
    List<List<SftExample>> candidates =
        usable.stream()
            .map(g -> g.candidates().stream().map(c -> c.fitTo(contextLength)).toList())
            .toList();
    reference.setTrainable(false);
    List<float[]> referenceLogProbs = new ArrayList<>();
    for (List<SftExample> c : candidates) {
      referenceLogProbs.add(sequenceLogProbs(reference, c));
    }

    int perEpoch =
        Math.max(1, (usable.size() + config.getGroupsPerStep() - 1) / config.getGroupsPerStep());
    int total = totalSteps(usable.size());
    int warmup = Math.max(0, Math.min(config.getWarmupSteps(), total - 1) - fromStep);
    Learner learner =
        new Learner(
            OptimizerConfig.adamW(LearningRateSchedule.constant(config.getLearningRate(), warmup))
                .withWeightDecay(config.getWeightDecay())
                .withMaxGradNorm(config.getMaxGradNorm()),
            policy);
    Random random = new Random(config.getSeed());
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < usable.size(); i++) {
      order.add(i);
    }
    double[] epochSums = new double[3];
    int epochSteps = 0;
    int skipped = 0;
    int step = 0;
    for (int epoch = 0; epoch < config.getEpochs(); epoch++) {
      Collections.shuffle(order, random);
      epochSums = new double[3];
      epochSteps = 0;
      for (int b = 0; b < perEpoch; b++) {
        if (step < fromStep) {
          step++; // done before the checkpoint: its shuffle is replayed, its update is not
          continue;
        }
        if (listener.stopRequested()) {
          throw new Stopped(step);
        }
        List<Integer> batch =
            order.subList(
                b * config.getGroupsPerStep(),
                Math.min(order.size(), (b + 1) * config.getGroupsPerStep()));
        double[] sums = new double[3];
        Learner.StepResult r =
            learner.step(
                (sm, micro) -> {
                  DpoLoss.Result dpo =
                      loss(sm, policy, batch, usable, candidates, referenceLogProbs);
                  sums[0] = dpo.loss().getFloat();
                  sums[1] = dpo.margin().getFloat();
                  sums[2] = dpo.accuracy().getFloat();
                  return dpo.loss();
                });
        step++;
        skipped += r.skipped() ? 1 : 0;
        for (int j = 0; j < 3; j++) {
          epochSums[j] += sums[j];
        }
        epochSteps++;
        listener.onStep(step, total, sums[0], sums[1], sums[2]);
      }
    }
    int pairs = usable.stream().mapToInt(g -> g.pairs().size()).sum();
    double n = epochSteps == 0 ? Double.NaN : epochSteps;
    return new Result(
        epochSums[0] / n, epochSums[1] / n, epochSums[2] / n, step, usable.size(), pairs, skipped);
  }

  /**
   * The held-out figures of {@code policy} against {@code reference} on {@code groups} (no
   * gradient, no dropout); NaN figures when no group holds a pair.
   */
  public Evaluation evaluate(PolicyModel policy, PolicyModel reference, List<RankedGroup> groups) {
    int contextLength = policy.config().contextLength();
    double loss = 0;
    double margin = 0;
    double accuracy = 0;
    int used = 0;
    int pairs = 0;
    for (RankedGroup g : groups) {
      if (g.pairs().isEmpty()) {
        continue;
      }
      List<SftExample> candidates =
          g.candidates().stream().map(c -> c.fitTo(contextLength)).toList();
      float[] mine = sequenceLogProbs(policy, candidates);
      float[] ref = sequenceLogProbs(reference, candidates);
      double groupLoss = 0;
      double groupMargin = 0;
      double wins = 0; // a tie counts ½, so the reference against itself scores exactly 0.5
      for (int[] p : g.pairs()) {
        double h = ((double) mine[p[0]] - ref[p[0]]) - ((double) mine[p[1]] - ref[p[1]]);
        groupLoss += pairLoss(h);
        groupMargin += h;
        wins += h > 0 ? 1 : h == 0 ? 0.5 : 0;
      }
      loss += groupLoss / g.pairs().size();
      margin += groupMargin / g.pairs().size();
      accuracy += wins / g.pairs().size();
      used++;
      pairs += g.pairs().size();
    }
    if (used == 0) {
      return new Evaluation(Double.NaN, Double.NaN, Double.NaN, 0, 0);
    }
    return new Evaluation(loss / used, margin / used, accuracy / used, used, pairs);
  }

  /** The loss of one pair with margin h, as {@link DpoLoss} computes it. */
  private double pairLoss(double h) {
    double beta = config.getBeta();
    if (config.getLoss() == PpoConfig.DpoLoss.IPO) {
      double d = h - 1 / (2 * beta);
      return d * d;
    }
    double z = beta * h;
    double eps = config.getLabelSmoothing();
    return (1 - eps) * softplus(-z) + eps * softplus(z);
  }

  private static double softplus(double x) {
    return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  }

  /** The group-weighted DPO loss of the groups {@code batch} (indices into {@code groups}). */
  private DpoLoss.Result loss(
      NDManager sm,
      PolicyModel policy,
      List<Integer> batch,
      List<RankedGroup> groups,
      List<List<SftExample>> candidates,
      List<float[]> referenceLogProbs) {
    List<SftExample> rows = new ArrayList<>();
    List<int[]> pairRows = new ArrayList<>();
    List<Float> weights = new ArrayList<>();
    List<float[]> refs = new ArrayList<>();
    for (int g : batch) {
      int first = rows.size();
      rows.addAll(candidates.get(g));
      List<int[]> pairs = groups.get(g).pairs();
      float[] ref = referenceLogProbs.get(g);
      for (int[] p : pairs) {
        pairRows.add(new int[] {first + p[0], first + p[1]});
        weights.add(1f / pairs.size());
        refs.add(new float[] {ref[p[0]], ref[p[1]]});
      }
    }
    NDArray sequence = sequenceLogProbs(sm, policy, rows, false);
    float[] chosenNll =
        new float[rows.size()]; // weight of each row's per-token NLL in the RPO term
    int p = pairRows.size();
    float[] chosenSelect = new float[p * rows.size()];
    float[] rejectedSelect = new float[p * rows.size()];
    float[] chosenRef = new float[p];
    float[] rejectedRef = new float[p];
    float[] w = new float[p];
    for (int i = 0; i < p; i++) {
      chosenSelect[i * rows.size() + pairRows.get(i)[0]] = 1f;
      chosenNll[pairRows.get(i)[0]] +=
          weights.get(i) / batch.size() / rows.get(pairRows.get(i)[0]).responseTokens().length;
      rejectedSelect[i * rows.size() + pairRows.get(i)[1]] = 1f;
      chosenRef[i] = refs.get(i)[0];
      rejectedRef[i] = refs.get(i)[1];
      w[i] = weights.get(i);
    }
    Shape select = new Shape(p, rows.size());
    NDArray column = sequence.reshape(rows.size(), 1);
    NDArray chosen = sm.create(chosenSelect, select).matMul(column).reshape(p);
    NDArray rejected = sm.create(rejectedSelect, select).matMul(column).reshape(p);
    NDArray weightArray = sm.create(w);
    DpoLoss.Result dpo =
        config.getLoss() == PpoConfig.DpoLoss.IPO
            ? DpoLoss.ipo(
                chosen,
                rejected,
                sm.create(chosenRef),
                sm.create(rejectedRef),
                config.getBeta(),
                weightArray)
            : DpoLoss.sigmoid(
                chosen,
                rejected,
                sm.create(chosenRef),
                sm.create(rejectedRef),
                config.getBeta(),
                config.getLabelSmoothing(),
                weightArray);
    if (config.getRpoAlpha() == 0f) {
      return dpo;
    }
    // RPO: + α × the chosen responses' mean per-token NLL (each group's chosen rows weighted as its
    // pairs)
    NDArray nll = sequence.mul(sm.create(chosenNll)).sum().neg();
    return new DpoLoss.Result(
        dpo.loss().add(nll.mul(config.getRpoAlpha())), dpo.margin(), dpo.accuracy());
  }

  /**
   * Sequence log-probs (summed over response tokens) of {@code examples} under {@code model}, no
   * gradient.
   */
  public static float[] sequenceLogProbs(PolicyModel model, List<SftExample> examples) {
    try (InferenceSession s = InferenceSession.open(model)) {
      return sequenceLogProbs(s.manager(), model, examples, false).toFloatArray();
    }
  }

  private static NDArray sequenceLogProbs(
      NDManager sm, PolicyModel model, List<SftExample> examples, boolean dropout) {
    List<int[]> tokens = examples.stream().map(SftExample::tokens).toList();
    List<int[]> masks = examples.stream().map(SftExample::lossMask).toList();
    TokenBatch b = TokenBatch.of(sm, tokens, TokenBatch.Side.RIGHT);
    NDArray lossMask = TokenBatch.pad(sm, masks, TokenBatch.Side.RIGHT, (int) b.length(), 0);
    NDArray logProbs =
        SftLoss.nextTokenLogProbs(model.logits(b.tokens(), b.mask(), dropout), b.tokens());
    return logProbs.mul(lossMask.get(":, 1:").toType(DataType.FLOAT32, false)).sum(new int[] {1});
  }
}
