package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every trainable parameter gets a gradient from the loss that trains it; frozen ones get none. */
class GradientTest {

  static NDManager manager;
  static final GptConfig CONFIG = GptConfig.tiny().withDropout(0.1f);
  static final List<int[]> SEQUENCES =
      List.of(
          new int[] {257, 260, 'a', 'b', 258, 261, 'c', 258},
          new int[] {257, 260, 'x', 258, 261, 'y', 'z', 'w', 258});

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(11);
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void sftLossReachesEveryPolicyParameter() {
    try (PolicyModel policy = PolicyModel.create(CONFIG, manager)) {
      assertAllGradientsNonZero(
          policy,
          sm -> {
            TokenBatch batch = TokenBatch.of(sm, SEQUENCES, TokenBatch.Side.RIGHT);
            return SftLoss.loss(
                policy.logits(batch.tokens(), batch.mask(), true), batch.tokens(), batch.mask());
          });
    }
  }

  @Test
  void pairwiseLossReachesEveryRewardParameterExceptShiftInvariantOnes() {
    try (RewardModel reward = RewardModel.create(CONFIG, manager)) {
      // r_w - r_l cancels anything that adds the same constant to every score: the head bias,
      // and the final LayerNorm shift (it reaches the score only as head_weight . shift).
      assertGradients(
          reward,
          Set.of("head_bias", "01trunk_03final_norm_shift"),
          sm -> {
            TokenBatch batch = TokenBatch.of(sm, SEQUENCES, TokenBatch.Side.RIGHT);
            NDArray scores = reward.scores(batch.tokens(), batch.mask(), true);
            return PairwiseRewardLoss.compute(scores, List.of(PairwiseRewardLoss.fromRanking(0, 1)))
                .loss();
          });
    }
  }

  @Test
  void valueLossReachesEveryValueParameterButNotAFrozenTrunk() {
    try (ValueModel value = ValueModel.create(CONFIG, manager)) {
      Function<NDManager, NDArray> loss =
          sm -> {
            TokenBatch batch = TokenBatch.of(sm, SEQUENCES, TokenBatch.Side.LEFT);
            NDArray values =
                PpoLosses.actionValues(value.values(batch.tokens(), batch.mask(), true));
            NDArray mask = PpoLosses.actionMask(batch.mask());
            return PpoLosses.valueLoss(values, values.stopGradient(), values.onesLike(), mask, 0.2f)
                .loss();
          };
      assertAllGradientsNonZero(value, loss);

      value.setTrunkTrainable(false);
      try (NDManager sm = manager.newSubManager();
          GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        collector.backward(loss.apply(sm));
      }
      for (Pair<String, Parameter> p : value.getParameters()) {
        boolean head = p.getKey().startsWith("head");
        assertEquals(head, p.getValue().getArray().hasGradient(), p.getKey());
      }
    }
  }

  private static void assertAllGradientsNonZero(GptModel model, Function<NDManager, NDArray> loss) {
    assertGradients(model, Set.of(), loss);
  }

  /**
   * Every parameter except {@code expectedZero} gets a non-zero gradient; those get exactly zero.
   */
  private static void assertGradients(
      GptModel model, Set<String> expectedZero, Function<NDManager, NDArray> loss) {
    try (NDManager sm = manager.newSubManager()) {
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        collector.backward(loss.apply(sm));
      }
      List<String> without = new ArrayList<>();
      for (Pair<String, Parameter> p : model.getParameters()) {
        NDArray gradient = p.getValue().getArray().getGradient();
        gradient.attach(sm);
        float size = gradient.abs().sum().getFloat();
        if (expectedZero.contains(p.getKey())) {
          assertEquals(0f, size, 1e-7f, p.getKey() + " cannot affect the loss");
        } else if (!(size > 0)) {
          without.add(p.getKey());
        }
        JniUtils.zeroGrad((PtNDArray) p.getValue().getArray());
      }
      assertTrue(without.isEmpty(), "no gradient reached " + without);
      assertFalse(model.getParameters().isEmpty());
    }
  }
}
