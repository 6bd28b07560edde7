package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import dev.flywheel.model.DpoLoss;
import dev.flywheel.model.FixedKlController;
import dev.flywheel.model.KlController;
import dev.flywheel.model.Learner;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.PpoLosses;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SftExample;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Online DPO ({@link PpoConfig.Algorithm#ONLINE_DPO}) on in-memory prompts and models. One
 * iteration:
 *
 * <ol>
 *   <li>sample K responses per prompt from π and score them with the reward model ({@link
 *       ScoredRollout});
 *   <li>pair each prompt's best-scored response (chosen) with its worst (rejected); a prompt whose
 *       K scores are all equal gives no pair;
 *   <li>sequence log-probs of both under the frozen reference (the SFT policy), once;
 *   <li>{@code ppo-epochs} passes over shuffled minibatches of {@code mini-batch-size / 2} pairs:
 *       the DPO (or IPO) loss of {@link DpoLoss} with {@code dpo-beta} and {@code
 *       dpo-label-smoothing}, + γ_ptx × the SFT loss on demonstrations; one AdamW step each.
 * </ol>
 *
 * There is no value model, no KL controller and no clipping: DPO's β anchors π to the reference
 * (Guo et al. 2024; Xiong et al. 2024; TRL {@code OnlineDPOTrainer}, which judges 2 samples;
 * best-vs-worst of K uses more of the reward model's ranking per prompt). No dropout in the forward
 * passes, like the PPO update.
 */
public final class OnlineDpoTrainer implements PolicyOptimizer {

  private final PpoConfig config;
  private final PolicyModel policy;
  private final PolicyModel reference;
  private final RewardFunction reward;
  private final PtxTerm ptx;
  private final Learner learner;
  private final Sampler sampler;
  private final KlController beta;
  private final ScoreNormalizer normalizer = new ScoreNormalizer();

  public OnlineDpoTrainer(
      PpoConfig config,
      PolicyModel policy,
      PolicyModel reference,
      RewardFunction reward,
      List<SftExample> ptxData) {
    this.config = config.copy().validate();
    if (this.config.getAlgorithm() != PpoConfig.Algorithm.ONLINE_DPO) {
      throw new IllegalArgumentException(
          "OnlineDpoTrainer runs online-dpo, not " + this.config.getAlgorithm());
    }
    ScoredRollout.requireRoom(config.getMaxNewTokens(), policy.config().contextLength());
    this.policy = policy;
    this.reference = reference;
    this.reward = reward;
    reference.setTrainable(false);
    this.ptx = new PtxTerm(policy, ptxData, config.getPtxCoef(), config.getPtxBatchSize());
    OptimizerConfig optimizer = this.config.optimizer();
    this.learner = new Learner(optimizer, policy);
    this.sampler = new Sampler(policy);
    this.beta = new FixedKlController(config.getDpoBeta());
  }

  @Override
  public KlController kl() {
    return beta;
  }

  @Override
  public ScoreNormalizer normalizer() {
    return normalizer;
  }

  @Override
  public int[] fitPrompt(int[] prompt) {
    return ScoredRollout.fitPrompt(
        prompt, policy.config().contextLength(), config.getMaxNewTokens());
  }

  /**
   * Row indices of each prompt's best and worst sample; prompts whose scores are all equal are
   * skipped.
   */
  public static List<int[]> bestVersusWorst(float[] scores, int k) {
    List<int[]> pairs = new ArrayList<>();
    for (int g = 0; g + k <= scores.length; g += k) {
      int best = g;
      int worst = g;
      for (int i = g + 1; i < g + k; i++) {
        if (scores[i] > scores[best]) {
          best = i;
        }
        if (scores[i] < scores[worst]) {
          worst = i;
        }
      }
      if (scores[best] > scores[worst]) {
        pairs.add(new int[] {best, worst});
      }
    }
    return pairs;
  }

  @Override
  public IterationStats iterate(List<int[]> prompts, long seed) {
    long t0 = System.nanoTime();
    int k = config.effectiveSamplesPerPrompt();
    ScoredRollout scored =
        ScoredRollout.sample(
            sampler, reward, prompts.stream().map(this::fitPrompt).toList(), k, config, seed);
    Rollout rollout = scored.rollout();
    long t1 = System.nanoTime();

    float[] refLogProbs = PpoTrainer.actionLogProbs(reference, rollout);
    double[] refSequence = new double[rollout.batchSize()];
    double klSum = 0;
    int actions = rollout.length() - 1;
    float[] mask = rollout.actionMaskArray();
    float[] old = rollout.behaviourLogProbArray();
    for (int r = 0; r < rollout.batchSize(); r++) {
      for (int t = r * actions; t < (r + 1) * actions; t++) {
        if (mask[t] > 0) {
          refSequence[r] += refLogProbs[t];
          klSum += old[t] - refLogProbs[t];
        }
      }
    }
    List<int[]> pairs = bestVersusWorst(scored.scores(), k);
    long t2 = System.nanoTime();

    double[] sums = new double[4]; // loss, margin, accuracy, ptx
    int steps = 0;
    int nonFinite = 0;
    int pairsPerStep = Math.max(1, config.getMiniBatchSize() / 2);
    int micro = config.getGradientAccumulationSteps();
    Random random = new Random(seed ^ 0x5DEECE66DL);
    for (int epoch = 0; epoch < config.getPpoEpochs() && !pairs.isEmpty(); epoch++) {
      List<int[]> order = new ArrayList<>(pairs);
      java.util.Collections.shuffle(order, random);
      for (int from = 0; from < order.size(); from += pairsPerStep) {
        List<int[]> step = order.subList(from, Math.min(order.size(), from + pairsPerStep));
        List<SftExample> ptxBatch = ptx.batch(random);
        double[] stepSums = new double[4];
        Learner.StepResult result =
            learner.step(
                (sm, i) -> {
                  List<int[]> sub = Batches.micro(step, i, micro);
                  int p = sub.size();
                  int[] rows = new int[2 * p];
                  float[] chosenRef = new float[p];
                  float[] rejectedRef = new float[p];
                  for (int j = 0; j < p; j++) {
                    rows[j] = sub.get(j)[0];
                    rows[p + j] = sub.get(j)[1];
                    chosenRef[j] = (float) refSequence[rows[j]];
                    rejectedRef[j] = (float) refSequence[rows[p + j]];
                  }
                  int len = rollout.lengthOf(rows);
                  NDArray tokens = rollout.tokens(sm, rows, len);
                  NDArray actionMask = rollout.actions(sm, mask, rows, len);
                  NDArray logits = policy.logits(tokens, rollout.paddingMask(sm, rows, len), false);
                  NDArray sequence =
                      DpoLoss.sequenceLogProbs(
                          PpoLosses.actionLogProbs(logits, tokens, actionMask));
                  NDArray chosen = sequence.get("0:{}", p);
                  NDArray rejected = sequence.get("{}:", p);
                  DpoLoss.Result dpo =
                      config.getDpoLoss() == PpoConfig.DpoLoss.IPO
                          ? DpoLoss.ipo(
                              chosen,
                              rejected,
                              sm.create(chosenRef),
                              sm.create(rejectedRef),
                              config.getDpoBeta())
                          : DpoLoss.sigmoid(
                              chosen,
                              rejected,
                              sm.create(chosenRef),
                              sm.create(rejectedRef),
                              config.getDpoBeta(),
                              config.getDpoLabelSmoothing());
                  NDArray loss = dpo.loss();
                  List<SftExample> part = PtxTerm.part(ptxBatch, i, micro);
                  if (!part.isEmpty()) {
                    NDArray ptxLoss = ptx.loss(sm, part);
                    stepSums[3] += ptxLoss.getFloat() / micro;
                    loss = loss.add(ptxLoss.mul(ptx.coef()));
                  }
                  stepSums[0] += dpo.loss().getFloat() / micro;
                  stepSums[1] += dpo.margin().getFloat() / micro;
                  stepSums[2] += dpo.accuracy().getFloat() / micro;
                  return loss;
                });
        for (int j = 0; j < sums.length; j++) {
          sums[j] += stepSums[j];
        }
        steps++;
        nonFinite += result.skipped() ? 1 : 0;
      }
    }
    long t3 = System.nanoTime();
    int n = Math.max(1, steps);
    Map<String, Double> extra = new LinkedHashMap<>();
    extra.put("dpo_pairs", (double) pairs.size());
    extra.put("dpo_margin", steps == 0 ? Double.NaN : sums[1] / n);
    extra.put("dpo_accuracy", steps == 0 ? Double.NaN : sums[2] / n);
    float[] raw = scored.scores();
    return new IterationStats(
        ArrayStats.mean(raw),
        ArrayStats.std(raw),
        klSum / rollout.batchSize(),
        config.getDpoBeta(),
        Double.NaN,
        Double.NaN,
        Double.NaN,
        steps == 0 ? Double.NaN : sums[0] / n,
        Double.NaN,
        Double.NaN,
        Double.NaN,
        steps == 0 ? Double.NaN : sums[3] / n,
        (double) rollout.responseTokens() / rollout.batchSize(),
        rollout.eosRate(),
        rollout.batchSize(),
        rollout.responseTokens(),
        steps,
        false,
        0,
        nonFinite,
        (t1 - t0) / 1e9,
        (t2 - t1) / 1e9,
        (t3 - t2) / 1e9,
        config.getDpoBeta(),
        extra);
  }
}
