package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.flywheel.model.AdaptiveKlController;
import dev.flywheel.model.FixedKlController;
import dev.flywheel.model.InferenceMode;
import dev.flywheel.model.KlController;
import dev.flywheel.model.Learner;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.PpoLosses;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.ValueModel;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * RLHF step 3 on in-memory prompts and models: PPO of a policy against a {@link RewardFunction}
 * with a per-token KL penalty to a frozen reference (the SFT policy), and its critic-free variants
 * RLOO and GRPO ({@link PpoConfig.Algorithm}), which share the rollout and the clipped-surrogate
 * update and differ in the advantage (see {@link GroupAdvantages}). No Kafka here.
 *
 * <p>One {@link #iterate iteration} (TRL's {@code PPOTrainer.step}):
 *
 * <ol>
 *   <li><b>rollout</b> — sample a response to every prompt from π at temperature 1 with the KV
 *       cache ({@link SamplingConfig#ppoRollout}); the sampler's log π are the behaviour ("old")
 *       log-probs;
 *   <li><b>score</b> — the reward function scores each full response; optional missing-EOS penalty,
 *       score scaling/normalisation and clipping; log π_ref from the reference and V from the value
 *       model, in inference mode;
 *   <li><b>rewards and advantages</b> — r_t = −β (log π − log π_ref) on every response token plus
 *       the score on the last one; optional reward whitening; GAE(γ, λ); advantage whitening;
 *   <li><b>update</b> — {@code ppoEpochs} passes over shuffled minibatches: clipped surrogate +
 *       vf_coef × clipped value loss (− entropy bonus, + γ_ptx × SFT loss on demonstrations for
 *       PPO-ptx), one AdamW step each; early stop when a minibatch's approximate KL(π_old‖π)
 *       exceeds 1.5 × target; a minibatch whose mean ratio exceeds {@code ratioThreshold}
 *       contributes no policy gradient;
 *   <li><b>β</b> — the KL controller sees the batch's mean summed KL.
 * </ol>
 *
 * <p>Forward passes during the update run without dropout (the ratio of a policy to itself must be
 * 1). The policy and the value model are separate networks trained by one optimizer on the joint
 * loss.
 */
public final class PpoTrainer implements PolicyOptimizer {

  /** Rows per inference forward pass when scoring a rollout. */
  private static final int INFERENCE_CHUNK = 64;

  private final PpoConfig config;
  private final PolicyModel policy;
  private final PolicyModel reference;
  private final ValueModel value;
  private final RewardFunction reward;
  private final KlController kl;
  private final ScoreNormalizer normalizer;
  private final PtxTerm ptx;
  private final Learner learner;
  private final Sampler sampler;
  private long updateSteps;

  /**
   * @param policy the policy to optimise (updated in place)
   * @param reference the frozen reference policy for the KL penalty (the SFT model)
   * @param value the critic (updated in place); null for RLOO and GRPO, which have none
   * @param kl supplies and adapts β; see {@link #klController}
   * @param normalizer running score statistics (used unless score normalisation is NONE)
   * @param ptxData demonstrations for PPO-ptx (ignored when {@code ptxCoef} is 0)
   */
  public PpoTrainer(
      PpoConfig config,
      PolicyModel policy,
      PolicyModel reference,
      ValueModel value,
      RewardFunction reward,
      KlController kl,
      ScoreNormalizer normalizer,
      List<SftExample> ptxData) {
    this.config = config.copy().validate();
    if (!config.getAlgorithm().isRl()) {
      throw new IllegalArgumentException(
          "PpoTrainer runs RL algorithms; " + config.getAlgorithm() + " is a round of its own");
    }
    ScoredRollout.requireRoom(config.getMaxNewTokens(), policy.config().contextLength());
    boolean critic = PolicyOptimizer.needsValueModel(config);
    if (critic != (value != null)) {
      throw new IllegalArgumentException(
          config.getAlgorithm() + (critic ? " needs a value model" : " has no value model"));
    }
    if (critic && value.config().contextLength() < policy.config().contextLength()) {
      throw new IllegalArgumentException("the value model's context is shorter than the policy's");
    }
    this.policy = policy;
    this.reference = reference;
    this.value = value;
    this.reward = reward;
    this.kl = kl;
    this.normalizer = normalizer;
    this.ptx = new PtxTerm(policy, ptxData, config.getPtxCoef(), config.getPtxBatchSize());
    reference.setTrainable(false);
    OptimizerConfig optimizer = this.config.optimizer();
    this.learner = critic ? new Learner(optimizer, policy, value) : new Learner(optimizer, policy);
    this.sampler = new Sampler(policy);
  }

  /**
   * The β controller the config asks for, starting at {@code beta} (the initial β, or a
   * checkpoint's).
   */
  public static KlController klController(PpoConfig config, double beta) {
    return config.getKlControl() == PpoConfig.KlControl.ADAPTIVE
        ? new AdaptiveKlController(beta, config.getKlTarget(), config.getKlHorizon())
        : new FixedKlController(beta);
  }

  public PpoConfig config() {
    return config;
  }

  @Override
  public KlController kl() {
    return kl;
  }

  @Override
  public ScoreNormalizer normalizer() {
    return normalizer;
  }

  /** Optimizer steps applied by this trainer. */
  public long updateSteps() {
    return updateSteps;
  }

  @Override
  public int[] fitPrompt(int[] prompt) {
    return ScoredRollout.fitPrompt(
        prompt, policy.config().contextLength(), config.getMaxNewTokens());
  }

  // ---- one iteration --------------------------------------------------------------------------

  /**
   * One rollout batch of {@code prompts} and its update epochs; {@code seed} fixes sampling and
   * shuffling.
   */
  @Override
  public IterationStats iterate(List<int[]> prompts, long seed) {
    long t0 = System.nanoTime();
    int k = config.effectiveSamplesPerPrompt();
    ScoredRollout scored =
        ScoredRollout.sample(
            sampler, reward, prompts.stream().map(this::fitPrompt).toList(), k, config, seed);
    double seconds = (System.nanoTime() - t0) / 1e9;
    return iterate(new SourcedRollout(scored, 0, seconds, seconds, Map.of()), 1.0, seed);
  }

  /**
   * The update on a rollout sampled elsewhere (the rollout workers); a stale one ({@code staleness}
   * > 0) is corrected with {@link OffPolicyCorrection}: the ratio is taken against the current
   * weights and every token's advantage weighted by min(π_now / π_behaviour, {@code
   * importanceCap}). A fresh one trains exactly as if sampled here.
   */
  @Override
  public IterationStats iterate(SourcedRollout sourced, double importanceCap, long seed) {
    long t1 = System.nanoTime();
    ScoredRollout scored = sourced.scored();
    int k = scored.samplesPerPrompt();
    Rollout rollout = scored.rollout();
    // the update's ratio is taken against the proximal policy (decoupled PPO), but the KL penalty
    // and the KL the controller tracks stay log π_behaviour − log π_ref: the samples are the
    // behaviour policy's, and log π_prox − log π_ref on them under-counts by KL(behaviour ‖ prox)
    // (−0.31 nats per sequence one step into a round, where the true KL is 0)
    Rollout forUpdate = rollout;
    OffPolicyCorrection correction = null;
    if (sourced.staleness() > 0) {
      float[] proximal = actionLogProbs(policy, rollout);
      correction = OffPolicyCorrection.of(rollout, proximal, importanceCap);
      forUpdate = rollout.withOldLogProbs(proximal);
    }

    float[] rawScores = scored.scores();
    float[] refLogProbs = actionLogProbs(reference, rollout);
    float beta = (float) kl.value();
    float[] values;
    Advantages adv;
    if (value != null) {
      float[] scores = rawScores.clone();
      if (k > 1) {
        GroupAdvantages.leaveOneOut(scores, k);
      }
      normalizer.apply(scores, config.getScoreNormalization(), config.getScoreClip());
      values = actionValues(value, rollout);
      adv = advantages(rollout, refLogProbs, values, scores, beta, config);
    } else {
      values = null;
      adv = GroupAdvantages.of(rollout, refLogProbs, rawScores, beta, k, config);
    }
    Map<String, Double> sourceMetrics = new LinkedHashMap<>(sourced.metrics());
    if (correction != null) {
      correction.weigh(adv.advantages());
      sourceMetrics.put("tis_weight_mean", correction.meanWeight());
      sourceMetrics.put("tis_truncated_fraction", correction.truncatedFraction());
      sourceMetrics.put("off_policy_log_ratio", correction.meanLogRatio());
    }
    long t2 = System.nanoTime();

    UpdateStats update = update(forUpdate, values, refLogProbs, adv, seed);
    long t3 = System.nanoTime();
    kl.update(adv.meanSequenceKl(), rollout.batchSize());

    return new IterationStats(
        ArrayStats.mean(rawScores),
        ArrayStats.std(rawScores),
        adv.meanSequenceKl(),
        beta,
        update.entropy,
        update.clipFraction,
        values == null ? Double.NaN : update.valueLoss,
        update.policyLoss,
        update.approxKl,
        values == null ? Double.NaN : update.valueClipFraction,
        values == null
            ? Double.NaN
            : ArrayStats.explainedVariance(values, adv.returns(), rollout.actionMaskArray()),
        update.ptxLoss,
        (double) rollout.responseTokens() / rollout.batchSize(),
        rollout.eosRate(),
        rollout.batchSize(),
        rollout.responseTokens(),
        update.steps,
        update.earlyStopped,
        update.ratioSkipped,
        update.nonFinite,
        sourced.waitSeconds(),
        (t2 - t1) / 1e9,
        (t3 - t2) / 1e9,
        kl.value(),
        sourceMetrics);
  }

  /**
   * Per-token rewards, KL and advantages of a rollout.
   *
   * @param rewards (B·(T-1)) −β·KL on each action plus the score on the last action of each row
   * @param kl (B·(T-1)) log π_old − log π_ref on the mask
   * @param advantages (B·(T-1)) GAE advantages, whitened if configured
   * @param returns (B·(T-1)) value targets: raw advantages + values
   * @param meanSequenceKl mean over rows of the summed KL (what the KL controller tracks)
   */
  public record Advantages(
      float[] rewards, float[] kl, float[] advantages, float[] returns, double meanSequenceKl) {}

  /** Rewards and advantages of {@code rollout} (pure: no model involved). */
  public static Advantages advantages(
      Rollout rollout,
      float[] refLogProbs,
      float[] values,
      float[] scores,
      float beta,
      PpoConfig config) {
    int b = rollout.batchSize();
    Shape shape = new Shape(b, rollout.length() - 1);
    try (InferenceMode ignored = InferenceMode.enter();
        NDManager m = NDManager.newBaseManager()) {
      NDArray mask = m.create(rollout.actionMaskArray(), shape);
      NDArray old = m.create(rollout.behaviourLogProbArray(), shape);
      NDArray ref = m.create(refLogProbs, shape);
      NDArray v = m.create(values, shape);
      PpoLosses.Rewards rw = PpoLosses.klPenalizedRewards(old, ref, mask, m.create(scores), beta);
      NDArray rewards =
          config.isWhitenRewards() ? PpoLosses.whiten(rw.rewards(), mask, false) : rw.rewards();
      PpoLosses.Advantages a = PpoLosses.gae(rewards, v, mask, config.getGamma(), config.getLam());
      NDArray advantages =
          config.isWhitenAdvantages()
              ? PpoLosses.whiten(a.advantages(), mask, true)
              : a.advantages();
      return new Advantages(
          rewards.toFloatArray(),
          rw.kl().toFloatArray(),
          advantages.toFloatArray(),
          a.returns().toFloatArray(),
          rw.meanSequenceKl());
    }
  }

  /**
   * (B·(T-1)) log π(action) under {@code model} on the response actions of {@code rollout}, 0
   * elsewhere.
   */
  public static float[] actionLogProbs(PolicyModel model, Rollout rollout) {
    float[] out = new float[rollout.batchSize() * (rollout.length() - 1)];
    forEachChunk(
        rollout,
        (m, rows, len) -> {
          NDArray tokens = rollout.tokens(m, rows, len);
          NDArray mask = rollout.actions(m, rollout.actionMaskArray(), rows, len);
          NDArray logits = model.logits(tokens, rollout.paddingMask(m, rows, len), false);
          rollout.scatterActions(
              out, rows, len, PpoLosses.actionLogProbs(logits, tokens, mask).toFloatArray());
        },
        model.manager());
    return out;
  }

  /** (B·(T-1)) V of the state before each action, 0 off the response actions. */
  public static float[] actionValues(ValueModel model, Rollout rollout) {
    float[] out = new float[rollout.batchSize() * (rollout.length() - 1)];
    forEachChunk(
        rollout,
        (m, rows, len) -> {
          NDArray tokens = rollout.tokens(m, rows, len);
          NDArray mask = rollout.actions(m, rollout.actionMaskArray(), rows, len);
          NDArray values =
              PpoLosses.actionValues(
                  model.values(tokens, rollout.paddingMask(m, rows, len), false));
          rollout.scatterActions(out, rows, len, values.mul(mask).toFloatArray());
        },
        model.manager());
    return out;
  }

  private interface ChunkFunction {
    void apply(NDManager manager, int[] rows, int len);
  }

  private static void forEachChunk(Rollout rollout, ChunkFunction f, NDManager parent) {
    int b = rollout.batchSize();
    try (InferenceMode ignored = InferenceMode.enter()) {
      for (int from = 0; from < b; from += INFERENCE_CHUNK) {
        int[] rows = Batches.range(from, Math.min(b, from + INFERENCE_CHUNK));
        try (NDManager m = parent.newSubManager()) {
          f.apply(m, rows, rollout.lengthOf(rows));
        }
      }
    }
  }

  // ---- update -------------------------------------------------------------------------------

  private static final class UpdateStats {
    int steps;
    boolean earlyStopped;
    int ratioSkipped;
    int nonFinite;
    double entropy;
    double clipFraction;
    double valueLoss;
    double policyLoss;
    double approxKl;
    double valueClipFraction;
    double ptxLoss;

    void divide() {
      int n = Math.max(1, steps);
      entropy /= n;
      clipFraction /= n;
      valueLoss /= n;
      policyLoss /= n;
      approxKl /= n;
      valueClipFraction /= n;
      ptxLoss /= n;
    }
  }

  /**
   * {@code ppo-epochs} passes of clipped-surrogate steps. {@code values} is null without a critic;
   * {@code refLogProbs} feed GRPO's per-token KL loss.
   */
  private UpdateStats update(
      Rollout rollout, float[] values, float[] refLogProbs, Advantages adv, long seed) {
    UpdateStats stats = new UpdateStats();
    int b = rollout.batchSize();
    int mb = config.getMiniBatchSize();
    Random random = new Random(seed ^ 0x5DEECE66DL);
    outer:
    for (int epoch = 0; epoch < config.getPpoEpochs(); epoch++) {
      int[] order = Batches.shuffled(b, random);
      for (int from = 0; from < b; from += mb) {
        int[] rows = Arrays.copyOfRange(order, from, Math.min(b, from + mb));
        double approxKl = step(rollout, rows, values, refLogProbs, adv, random, stats);
        if (config.isEarlyStopping() && approxKl > 1.5 * config.getTargetKl()) {
          stats.earlyStopped = true;
          break outer;
        }
      }
    }
    stats.divide();
    return stats;
  }

  /**
   * One optimizer step on {@code rows}; returns the minibatch's approximate KL(π_old‖π). The loss:
   * the clipped surrogate, + vf-coef × the clipped value loss (PPO), + β × the mean per-token k3
   * estimate of KL(π‖π_ref) = exp(ref − log π) − (ref − log π) − 1 (GRPO, Shao et al. 2024 eq. 4),
   * − the entropy bonus, + γ_ptx × the SFT loss.
   */
  private double step(
      Rollout rollout,
      int[] rows,
      float[] values,
      float[] refLogProbs,
      Advantages adv,
      Random random,
      UpdateStats stats) {
    int micro = config.getGradientAccumulationSteps();
    double[] sums = new double[8];
    List<SftExample> ptxBatch = ptx.batch(random);
    boolean grpo = config.getAlgorithm() == PpoConfig.Algorithm.GRPO;
    float beta = (float) kl.value();
    Learner.StepResult result =
        learner.step(
            (sm, i) -> {
              int[] sub = Batches.micro(rows, i, micro);
              int len = rollout.lengthOf(sub);
              NDArray tokens = rollout.tokens(sm, sub, len);
              NDArray padding = rollout.paddingMask(sm, sub, len);
              NDArray mask = rollout.actions(sm, rollout.actionMaskArray(), sub, len);
              NDArray oldLogProbs = rollout.actions(sm, rollout.behaviourLogProbArray(), sub, len);
              NDArray advantages = rollout.actions(sm, adv.advantages(), sub, len);

              NDArray logits = policy.logits(tokens, padding, false);
              NDArray logProbs = PpoLosses.actionLogProbs(logits, tokens, mask);
              PpoLosses.PolicyLoss pl =
                  PpoLosses.policyLoss(
                      logProbs, oldLogProbs, advantages, mask, config.getCliprange());
              NDArray entropy =
                  PpoLosses.entropy(
                      PpoLosses.actionLogits(
                          config.getEntropyCoef() > 0 ? logits : logits.stopGradient()),
                      mask);
              float meanRatio =
                  PpoLosses.maskedMean(logProbs.stopGradient().sub(oldLogProbs).exp(), mask)
                      .getFloat();

              NDArray loss = sm.create(0f);
              if (values != null) {
                NDArray oldValues = rollout.actions(sm, values, sub, len);
                NDArray returns = rollout.actions(sm, adv.returns(), sub, len);
                NDArray newValues = PpoLosses.actionValues(value.values(tokens, padding, false));
                PpoLosses.ValueLoss vl =
                    PpoLosses.valueLoss(
                        newValues, oldValues, returns, mask, config.getCliprangeValue());
                loss = loss.add(vl.loss().mul(config.getVfCoef()));
                sums[2] += vl.loss().getFloat() / micro;
                sums[5] += vl.clipFraction().getFloat() / micro;
              }
              if (grpo && beta > 0) {
                NDArray refMinusPolicy =
                    rollout.actions(sm, refLogProbs, sub, len).sub(logProbs).mul(mask);
                NDArray k3 = refMinusPolicy.exp().sub(refMinusPolicy).sub(1f);
                loss = loss.add(PpoLosses.maskedMean(k3, mask).mul(beta));
              }
              if (meanRatio <= config.getRatioThreshold()) {
                loss = loss.add(pl.loss());
              } else {
                sums[7] += 1;
              }
              if (config.getEntropyCoef() > 0) {
                loss = loss.sub(entropy.mul(config.getEntropyCoef()));
              }
              List<SftExample> part = PtxTerm.part(ptxBatch, i, micro);
              if (!part.isEmpty()) {
                NDArray ptxLoss = ptx.loss(sm, part);
                sums[6] += ptxLoss.getFloat() / micro;
                loss = loss.add(ptxLoss.mul(ptx.coef()));
              }
              sums[0] += entropy.getFloat() / micro;
              sums[1] += pl.clipFraction().getFloat() / micro;
              sums[3] += pl.loss().getFloat() / micro;
              sums[4] += pl.approxKl().getFloat() / micro;
              return loss;
            });
    updateSteps++;
    stats.steps++;
    stats.entropy += sums[0];
    stats.clipFraction += sums[1];
    stats.valueLoss += sums[2];
    stats.policyLoss += sums[3];
    stats.approxKl += sums[4];
    stats.valueClipFraction += sums[5];
    stats.ptxLoss += sums[6];
    stats.ratioSkipped += sums[7] > 0 ? 1 : 0;
    stats.nonFinite += result.skipped() ? 1 : 0;
    return sums[4];
  }
}
