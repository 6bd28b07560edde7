package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The PPO-ptx term (InstructGPT eq. 2): γ_ptx × the SFT loss of the policy on a few demonstrations,
 * added to every RL step so the policy keeps what it imitated. Shared by every RL algorithm.
 */
final class PtxTerm {

  private final PolicyModel policy;
  private final List<SftExample> data;
  private final float coef;
  private final int batchSize;

  PtxTerm(PolicyModel policy, List<SftExample> data, float coef, int batchSize) {
    this.policy = policy;
    this.data = data == null ? List.of() : List.copyOf(data);
    this.coef = coef;
    this.batchSize = batchSize;
  }

  float coef() {
    return coef;
  }

  /** A step's demonstrations (empty when the term is off). */
  List<SftExample> batch(Random random) {
    if (coef <= 0 || data.isEmpty()) {
      return List.of();
    }
    List<SftExample> batch = new ArrayList<>(batchSize);
    int context = policy.config().contextLength();
    for (int i = 0; i < batchSize; i++) {
      batch.add(data.get(random.nextInt(data.size())).fitTo(context));
    }
    return batch;
  }

  /** Micro-batch {@code i} of {@code micro} of a step's demonstrations. */
  static List<SftExample> part(List<SftExample> batch, int i, int micro) {
    return batch.subList(i * batch.size() / micro, (i + 1) * batch.size() / micro);
  }

  /** The unweighted SFT loss of the policy on {@code batch} (with gradient). */
  NDArray loss(NDManager sm, List<SftExample> batch) {
    return sftLoss(policy, sm, batch);
  }

  /**
   * The SFT loss (next-token NLL on the response tokens) of {@code policy} on {@code batch}, with
   * gradient: the ptx term's, and RAFT's on the responses it keeps.
   */
  static NDArray sftLoss(PolicyModel policy, NDManager sm, List<SftExample> batch) {
    List<int[]> tokens = batch.stream().map(SftExample::tokens).toList();
    List<int[]> masks = batch.stream().map(SftExample::lossMask).toList();
    TokenBatch b = TokenBatch.of(sm, tokens, TokenBatch.Side.RIGHT);
    NDArray lossMask = TokenBatch.pad(sm, masks, TokenBatch.Side.RIGHT, (int) b.length(), 0);
    return SftLoss.loss(policy.logits(b.tokens(), b.mask(), false), b.tokens(), lossMask);
  }
}
