package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import dev.flywheel.model.FixedKlController;
import dev.flywheel.model.KlController;
import dev.flywheel.model.Learner;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SftExample;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Rejection-sampling fine-tuning ({@link PpoConfig.Algorithm#RAFT}) on in-memory prompts and
 * models. One iteration:
 *
 * <ol>
 *   <li>sample K responses per prompt from π and score them with the reward model ({@link
 *       ScoredRollout}: a response cut off before EOS pays {@code missing-eos-penalty});
 *   <li>keep each prompt's best-scored response ({@link #bestOfEach}; the first of equal scores);
 *   <li>{@code ppo-epochs} passes over shuffled minibatches of {@code mini-batch-size} kept
 *       responses: their SFT loss (next-token NLL on the response, as the SFT round) + γ_ptx × the
 *       SFT loss on demonstrations; one AdamW step each.
 * </ol>
 *
 * It distils best-of-K by the reward model into the policy: no advantage, no value model, no
 * clipping and no KL term — the few steps per batch and the policy's own samples as targets keep it
 * near where it was (Dong et al. 2023, RAFT; Gulcehre et al. 2023, ReST's Improve step; Touvron et
 * al. 2023, Llama 2's rejection-sampling fine-tuning). Its control is the same run with the reward
 * set to zero: every score ties, the first sample is kept, and what remains is the policy trained
 * on its own unselected samples plus ptx. The KL to the reference is measured (the rollout's Σ log
 * π − log π_ref), not penalised. No dropout in the forward passes, like the PPO update.
 */
public final class RaftTrainer implements PolicyOptimizer {

  private final PpoConfig config;
  private final PolicyModel policy;
  private final PolicyModel reference;
  private final RewardFunction reward;
  private final PtxTerm ptx;
  private final Learner learner;
  private final Sampler sampler;
  private final KlController noPenalty = new FixedKlController(0);
  private final ScoreNormalizer normalizer = new ScoreNormalizer();

  public RaftTrainer(
      PpoConfig config,
      PolicyModel policy,
      PolicyModel reference,
      RewardFunction reward,
      List<SftExample> ptxData) {
    this.config = config.copy().validate();
    if (this.config.getAlgorithm() != PpoConfig.Algorithm.RAFT) {
      throw new IllegalArgumentException(
          "RaftTrainer runs raft, not " + this.config.getAlgorithm());
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
  }

  /** β is 0: RAFT does not penalise the KL to the reference, it only reports it. */
  @Override
  public KlController kl() {
    return noPenalty;
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
   * Row index of each prompt's best-scored sample (the first of equal scores), prompt by prompt.
   */
  public static int[] bestOfEach(float[] scores, int k) {
    int[] best = new int[scores.length / k];
    for (int g = 0; g < best.length; g++) {
      int b = g * k;
      for (int i = b + 1; i < (g + 1) * k; i++) {
        if (scores[i] > scores[b]) {
          b = i;
        }
      }
      best[g] = b;
    }
    return best;
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
    double klSum = 0;
    float[] mask = rollout.actionMaskArray();
    float[] old = rollout.behaviourLogProbArray();
    for (int t = 0; t < mask.length; t++) {
      if (mask[t] > 0) {
        klSum += old[t] - refLogProbs[t];
      }
    }
    int[] best = bestOfEach(scored.scores(), k);
    List<SftExample> chosen = new ArrayList<>(best.length);
    int context = policy.config().contextLength();
    double chosenScore = 0;
    for (int row : best) {
      chosen.add(
          new SftExample(rollout.prompts().get(row), rollout.responses().get(row)).fitTo(context));
      chosenScore += scored.scores()[row];
    }
    long t2 = System.nanoTime();

    double[] sums = new double[2]; // kept-response loss, ptx
    int steps = 0;
    int nonFinite = 0;
    int perStep = Math.max(1, config.getMiniBatchSize());
    int micro = config.getGradientAccumulationSteps();
    Random random = new Random(seed ^ 0x5DEECE66DL);
    for (int epoch = 0; epoch < config.getPpoEpochs() && !chosen.isEmpty(); epoch++) {
      List<SftExample> order = new ArrayList<>(chosen);
      Collections.shuffle(order, random);
      for (int from = 0; from < order.size(); from += perStep) {
        List<SftExample> step = order.subList(from, Math.min(order.size(), from + perStep));
        List<SftExample> ptxBatch = ptx.batch(random);
        double[] stepSums = new double[2];
        Learner.StepResult result =
            learner.step(
                (sm, i) -> {
                  List<SftExample> sub = Batches.micro(step, i, micro);
                  NDArray own = PtxTerm.sftLoss(policy, sm, sub);
                  NDArray loss = own;
                  List<SftExample> part = PtxTerm.part(ptxBatch, i, micro);
                  if (!part.isEmpty()) {
                    NDArray ptxLoss = ptx.loss(sm, part);
                    stepSums[1] += ptxLoss.getFloat() / micro;
                    loss = loss.add(ptxLoss.mul(ptx.coef()));
                  }
                  stepSums[0] += own.getFloat() / micro;
                  return loss;
                });
        sums[0] += stepSums[0];
        sums[1] += stepSums[1];
        steps++;
        nonFinite += result.skipped() ? 1 : 0;
      }
    }
    long t3 = System.nanoTime();
    int n = Math.max(1, steps);
    float[] raw = scored.scores();
    Map<String, Double> extra = new LinkedHashMap<>();
    extra.put("raft_kept", (double) chosen.size());
    // how far above the batch's mean score the kept responses are: what the selection buys
    extra.put(
        "raft_kept_score_gain", chosenScore / Math.max(1, best.length) - ArrayStats.mean(raw));
    extra.put("raft_kept_loss", steps == 0 ? Double.NaN : sums[0] / n);
    return new IterationStats(
        ArrayStats.mean(raw),
        ArrayStats.std(raw),
        klSum / rollout.batchSize(),
        0,
        Double.NaN,
        Double.NaN,
        Double.NaN,
        steps == 0 ? Double.NaN : sums[0] / n,
        Double.NaN,
        Double.NaN,
        Double.NaN,
        steps == 0 ? Double.NaN : sums[1] / n,
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
        0,
        extra);
  }
}
