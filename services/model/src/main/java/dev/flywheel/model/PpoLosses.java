package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The pieces of PPO for language models (Schulman et al. 2017; Ziegler et al. 2019; Ouyang et al.
 * 2022), as small functions over (B, T) tensors.
 *
 * <p><b>Action space.</b> A rollout is a sequence of tokens (prompt, then response); the action at
 * step t is the token at t + 1, chosen after seeing tokens 0..t. Every per-token tensor here is
 * indexed by action, shape (B, T-1): entry t is about choosing token t + 1. Convert with {@link
 * #actionLogProbs}, {@link #actionMask}, {@link #actionValues} and {@link #actionLogits}. The
 * action mask is 1 for response tokens (the policy's choices), 0 for prompt and padding.
 *
 * <p>Masked means divide by the number of masked entries in the whole batch (token-level
 * averaging).
 */
public final class PpoLosses {

  private PpoLosses() {}

  // ---- alignment -------------------------------------------------------------------------

  /**
   * (B, T-1, vocab): logits of the T-1 actions (drops the last position, which predicts past the
   * end).
   */
  public static NDArray actionLogits(NDArray logits) {
    return logits.get(":, :{}, :", logits.getShape().get(1) - 1);
  }

  /** (B, T-1) log pi(token t+1 | tokens 0..t), zero where {@code actionMask} is 0. */
  public static NDArray actionLogProbs(NDArray logits, NDArray tokens, NDArray actionMask) {
    return SftLoss.nextTokenLogProbs(logits, tokens)
        .mul(actionMask.toType(DataType.FLOAT32, false));
  }

  /** (B, T) response mask (1 on response tokens) to the (B, T-1) action mask. */
  public static NDArray actionMask(NDArray responseMask) {
    return SftLoss.targets(responseMask).toType(DataType.FLOAT32, false);
  }

  /**
   * (B, T) per-prefix values from a {@link ValueModel} to (B, T-1): V of the state each action is
   * taken in.
   */
  public static NDArray actionValues(NDArray values) {
    return values.get(":, :{}", values.getShape().get(1) - 1);
  }

  // ---- rewards and advantages (no gradient) ------------------------------------------------

  /**
   * @param rewards (B, T-1) per-action reward: -β·KL term on every action, plus the score on the
   *     last
   * @param kl (B, T-1) per-action log pi - log pi_ref, masked
   */
  public record Rewards(NDArray rewards, NDArray kl) {
    /** Mean over rows of the summed per-token KL: the statistic {@link KlController}s track. */
    public float meanSequenceKl() {
      return kl.sum(new int[] {1}).mean().getFloat();
    }
  }

  /**
   * InstructGPT's per-token reward: r_t = -β (log pi(a_t|s_t) - log pi_ref(a_t|s_t)) on every
   * response token, plus the reward model's score on the last one (Ziegler et al. 2019 eq. 2; TRL).
   *
   * @param logProbs (B, T-1) action log-probs under the policy that sampled the rollout
   * @param refLogProbs (B, T-1) action log-probs under the frozen reference (SFT) policy
   * @param actionMask (B, T-1)
   * @param scores (B,) reward-model scores of the full sequences
   * @param beta KL coefficient β (see {@link KlController})
   */
  public static Rewards klPenalizedRewards(
      NDArray logProbs, NDArray refLogProbs, NDArray actionMask, NDArray scores, float beta) {
    NDArray mask = actionMask.toType(DataType.FLOAT32, false);
    NDArray kl = logProbs.sub(refLogProbs).mul(mask);
    NDArray lastAction = lastMasked(mask);
    NDArray rewards = kl.mul(-beta).add(lastAction.mul(scores.reshape(-1, 1)));
    return new Rewards(rewards, kl);
  }

  /** (B, T) one-hot of the last masked entry per row (all zeros for a row with an empty mask). */
  static NDArray lastMasked(NDArray mask) {
    NDManager manager = mask.getManager();
    long length = mask.getShape().get(1);
    NDArray slotPlusOne = manager.arange(1f, length + 1f).reshape(1, length);
    NDArray lastPlusOne = mask.mul(slotPlusOne).max(new int[] {1}, true);
    return slotPlusOne.eq(lastPlusOne).logicalAnd(mask.gt(0)).toType(DataType.FLOAT32, false);
  }

  /**
   * @param advantages (B, T-1) GAE advantages, zero outside the mask
   * @param returns (B, T-1) advantages + values: the value-function targets, zero outside the mask
   */
  public record Advantages(NDArray advantages, NDArray returns) {}

  /**
   * Generalised advantage estimation (Schulman et al. 2016) over masked sequences: δ_t = r_t +
   * γ·V_{t+1}·m_{t+1} - V_t and A_t = m_t·(δ_t + γλ·m_{t+1}·A_{t+1}); an action whose successor is
   * masked (the last response token) is terminal. Computed on the host: a backward scan over T with
   * no gradient.
   *
   * @param gamma discount γ (1 in InstructGPT/TRL: episodes are short and end with the score)
   * @param lambda GAE λ (0.95 in InstructGPT/TRL)
   */
  public static Advantages gae(
      NDArray rewards, NDArray values, NDArray actionMask, float gamma, float lambda) {
    Shape shape = rewards.getShape();
    int batch = Math.toIntExact(shape.get(0));
    int length = Math.toIntExact(shape.get(1));
    float[] r = rewards.toType(DataType.FLOAT32, false).toFloatArray();
    float[] v = values.toType(DataType.FLOAT32, false).toFloatArray();
    float[] m = actionMask.toType(DataType.FLOAT32, false).toFloatArray();
    float[] advantages = new float[r.length];
    float[] returns = new float[r.length];
    for (int b = 0; b < batch; b++) {
      double next = 0;
      for (int t = length - 1; t >= 0; t--) {
        int i = b * length + t;
        double nextMask = t + 1 < length ? m[i + 1] : 0;
        double nextValue = t + 1 < length ? v[i + 1] : 0;
        double delta = r[i] + gamma * nextValue * nextMask - v[i];
        next = m[i] * (delta + gamma * lambda * nextMask * next);
        advantages[i] = (float) next;
        returns[i] = (float) (m[i] * (next + v[i]));
      }
    }
    NDManager manager = rewards.getManager();
    return new Advantages(manager.create(advantages, shape), manager.create(returns, shape));
  }

  /**
   * (x - mean) / sqrt(var + 1e-8) over the masked entries of the batch, zero outside the mask. The
   * variance is unbiased (Bessel), as in TRL. With {@code shiftMean} false the mean is added back
   * (scale only).
   */
  public static NDArray whiten(NDArray values, NDArray mask, boolean shiftMean) {
    NDArray m = mask.toType(DataType.FLOAT32, false);
    NDArray count = m.sum();
    NDArray mean = values.mul(m).sum().div(count);
    NDArray centered = values.sub(mean).mul(m);
    NDArray variance = centered.square().sum().div(count.sub(1f).maximum(1f));
    NDArray whitened = centered.div(variance.add(1e-8f).sqrt());
    return (shiftMean ? whitened : whitened.add(mean)).mul(m);
  }

  // ---- losses (differentiable) --------------------------------------------------------------

  /** Masked mean of x: sum(x·m) / sum(m) (0 for an empty mask). */
  public static NDArray maskedMean(NDArray x, NDArray mask) {
    NDArray m = mask.toType(DataType.FLOAT32, false);
    return x.mul(m).sum().div(m.sum().maximum(1f));
  }

  /**
   * @param loss scalar clipped surrogate loss (to minimise)
   * @param clipFraction share of masked actions where the clipped term was the active one
   * @param approxKl estimate of KL(pi_old || pi) on the batch: mean of (r - 1) - log r (Schulman's
   *     "k3" estimator: unbiased and never negative)
   */
  public record PolicyLoss(NDArray loss, NDArray clipFraction, NDArray approxKl) {}

  /**
   * PPO's clipped surrogate (Schulman et al. 2017 eq. 7), negated to a loss: mean over masked
   * actions of max(-A·r, -A·clip(r, 1-ε, 1+ε)) with r = exp(logπ - logπ_old).
   *
   * @param logProbs (B, T-1) action log-probs under the current policy (with gradient)
   * @param oldLogProbs (B, T-1) action log-probs under the policy that sampled the rollout
   * @param advantages (B, T-1) (usually whitened)
   * @param clipRange ε (0.2 in InstructGPT/TRL)
   */
  public static PolicyLoss policyLoss(
      NDArray logProbs,
      NDArray oldLogProbs,
      NDArray advantages,
      NDArray actionMask,
      float clipRange) {
    NDArray logRatio = logProbs.sub(oldLogProbs);
    NDArray ratio = logRatio.exp();
    NDArray unclipped = advantages.neg().mul(ratio);
    NDArray clipped = advantages.neg().mul(ratio.clip(1f - clipRange, 1f + clipRange));
    NDArray loss = maskedMean(unclipped.maximum(clipped), actionMask);
    NDArray clipFraction =
        maskedMean(clipped.gt(unclipped).toType(DataType.FLOAT32, false), actionMask);
    NDArray approxKl = maskedMean(ratio.sub(1f).sub(logRatio), actionMask);
    return new PolicyLoss(loss, clipFraction.stopGradient(), approxKl.stopGradient());
  }

  /**
   * @param loss scalar clipped value loss (to minimise)
   * @param clipFraction share of masked entries where the clipped error was the larger one
   */
  public record ValueLoss(NDArray loss, NDArray clipFraction) {}

  /**
   * PPO's clipped value loss (as in OpenAI baselines and TRL): 0.5 · mean over masked entries of
   * max((V - R)², (V_old + clip(V - V_old, -ε, ε) - R)²).
   *
   * @param values (B, T-1) current value predictions (with gradient)
   * @param oldValues (B, T-1) predictions at rollout time
   * @param returns (B, T-1) targets from {@link #gae}
   * @param clipRange ε_v (0.2 in TRL)
   */
  public static ValueLoss valueLoss(
      NDArray values, NDArray oldValues, NDArray returns, NDArray actionMask, float clipRange) {
    NDArray clippedValues = oldValues.add(values.sub(oldValues).clip(-clipRange, clipRange));
    NDArray unclippedError = values.sub(returns).square();
    NDArray clippedError = clippedValues.sub(returns).square();
    NDArray loss = maskedMean(unclippedError.maximum(clippedError), actionMask).mul(0.5f);
    NDArray clipFraction =
        maskedMean(clippedError.gt(unclippedError).toType(DataType.FLOAT32, false), actionMask);
    return new ValueLoss(loss, clipFraction.stopGradient());
  }

  /** Mean entropy of the policy over masked actions, from (B, T-1, vocab) action logits. */
  public static NDArray entropy(NDArray actionLogits, NDArray actionMask) {
    NDArray logP = actionLogits.logSoftmax(2);
    NDArray perAction = logP.exp().mul(logP).sum(new int[] {2}).neg();
    return maskedMean(perAction, actionMask);
  }
}
