package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Loss functions against values computed by hand (the arithmetic is spelled out in the comments).
 */
class LossTest {

  static final float EPS = 1e-5f;
  NDManager manager;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  static double softplus(double x) {
    return Math.log1p(Math.exp(x));
  }

  @Test
  void sftLossIsMaskedNextTokenCrossEntropy() {
    // vocab of 2. Row 0: tokens [0 1 0], targets at slots 1 and 2.
    //   -log softmax([1, 2])[1]    = log(1 + e^-1) = 0.313262
    //   -log softmax([.5, -.5])[0] = log(1 + e^-1) = 0.313262
    // Row 1: tokens [1 1 1], mask [1 0 1]: slot 0 can never be a target, slot 2 is:
    //   -log softmax([2, 0])[1]    = log(1 + e^2)  = 2.126928
    // mean over the 3 targets = 0.917817
    NDArray logits =
        manager.create(new float[] {1, 2, .5f, -.5f, 3, 3, 0, 0, 2, 0, 9, 9}, new Shape(2, 3, 2));
    NDArray tokens = manager.create(new long[] {0, 1, 0, 1, 1, 1}, new Shape(2, 3));
    NDArray mask = manager.create(new long[] {0, 1, 1, 1, 0, 1}, new Shape(2, 3));
    float loss = SftLoss.loss(logits, tokens, mask).getFloat();
    assertEquals((2 * softplus(-1) + softplus(2)) / 3, loss, EPS);
    assertEquals(0.917817, loss, EPS);
    assertEquals(
        0f,
        SftLoss.loss(logits, tokens, mask.zerosLike()).getFloat(),
        EPS,
        "empty mask gives 0, not NaN");
  }

  @Test
  void theLastAssistantTurnMaskCoversOnlyTheChosenRowsResponses() {
    // BOS USER 'h' EOS ASSISTANT 'a' 'b' EOS | the same with a longer reply | a row cut before its
    // marker (left truncation): all of it is response
    List<int[]> rows =
        List.of(
            new int[] {257, 260, 104, 258, 261, 97, 98, 258},
            new int[] {257, 260, 104, 258, 261, 97, 98, 99, 258},
            new int[] {97, 98, 258});
    NDArray mask = SftLoss.lastAssistantTurnMask(manager, rows, List.of(1, 2), 9);
    assertArrayEquals(
        new int[] {
          0, 0, 0, 0, 0, 0, 0, 0, 0, //
          0, 0, 0, 0, 0, 1, 1, 1, 1, //
          1, 1, 1, 0, 0, 0, 0, 0, 0
        },
        mask.toIntArray());
  }

  @Test
  void pairwiseLossWeighsEveryPromptTheSameAndAppliesMargins() {
    // rewards of 5 responses; group A = ranking 0 > 2 > 1 (3 pairs), group B = 4 > 3 with margin
    // 0.5
    NDArray rewards = manager.create(new float[] {2, 0, 1, 5, 4});
    rewards.setRequiresGradient(true);
    List<List<PairwiseRewardLoss.Comparison>> groups =
        List.of(
            PairwiseRewardLoss.fromRanking(0, 2, 1),
            List.of(new PairwiseRewardLoss.Comparison(4, 3, 0.5f)));
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      PairwiseRewardLoss.Result result = PairwiseRewardLoss.compute(rewards, groups);
      // A: differences 1, 2, 1 -> mean softplus(-d) = (0.313262*2 + 0.126928)/3 = 0.251150
      // B: difference -1, minus margin -> softplus(1.5) = 1.701413
      // loss = (0.251150 + 1.701413) / 2 = 0.976282 (flattening the 4 pairs would give 0.613712)
      assertEquals(0.976282, result.loss().getFloat(), EPS);
      assertEquals(0.75f, result.accuracy(), EPS);
      assertEquals(4, result.pairs());
      collector.backward(result.loss());
    }
    float[] grad = rewards.getGradient().toFloatArray();
    // d/dr4 = -σ(1.5) * 1/2 and d/dr3 = +σ(1.5) * 1/2 (group B's only pair has weight 1/2)
    double sigma15 = 1 / (1 + Math.exp(-1.5));
    assertEquals(-sigma15 / 2, grad[4], EPS);
    assertEquals(sigma15 / 2, grad[3], EPS);
    // d/dr1 = +(σ(-2) + σ(-1)) / 3 / 2: response 1 loses both of its pairs in group A
    assertEquals((1 / (1 + Math.exp(2)) + 1 / (1 + Math.exp(1))) / 6, grad[1], EPS);
  }

  @Test
  void klPenalizedRewardsPutTheScoreOnTheLastResponseToken() {
    NDArray logProbs =
        manager.create(new float[] {-1, -2, -.5f, -1, -1, -1, -1, -1}, new Shape(2, 4));
    NDArray refLogProbs =
        manager.create(new float[] {-1.5f, -1, -.5f, -3, -2, -2, -2, -2}, new Shape(2, 4));
    NDArray mask = manager.create(new float[] {0, 1, 1, 0, 1, 1, 1, 1}, new Shape(2, 4));
    NDArray scores = manager.create(new float[] {2, -1});
    PpoLosses.Rewards r = PpoLosses.klPenalizedRewards(logProbs, refLogProbs, mask, scores, 0.1f);
    // row 0: kl = [0, -1, 0, 0] (masked) -> -0.1*kl = [0, .1, 0, 0], score 2 at slot 2
    // row 1: kl = [1, 1, 1, 1] -> [-.1, -.1, -.1, -.1], score -1 at slot 3
    assertArrayEquals(
        new float[] {0, .1f, 2, 0, -.1f, -.1f, -.1f, -1.1f}, r.rewards().toFloatArray(), EPS);
    assertArrayEquals(new float[] {0, -1, 0, 0, 1, 1, 1, 1}, r.kl().toFloatArray(), EPS);
    assertEquals((-1 + 4) / 2f, r.meanSequenceKl(), EPS);
  }

  @Test
  void gaeOverAMaskedSequence() {
    // one row, actions 1..3 are the response; gamma 0.9, lambda 0.8 (gamma*lambda = 0.72)
    NDArray rewards = manager.create(new float[] {0, 1, .5f, 2, 0}, new Shape(1, 5));
    NDArray values = manager.create(new float[] {9, .5f, 1, 1.5f, 9}, new Shape(1, 5));
    NDArray mask = manager.create(new float[] {0, 1, 1, 1, 0}, new Shape(1, 5));
    PpoLosses.Advantages a = PpoLosses.gae(rewards, values, mask, 0.9f, 0.8f);
    // t=3 terminal: δ = 2 - 1.5 = 0.5                    A3 = 0.5
    // t=2: δ = 0.5 + 0.9*1.5 - 1 = 0.85                  A2 = 0.85 + 0.72*0.5  = 1.21
    // t=1: δ = 1 + 0.9*1 - 0.5 = 1.4                      A1 = 1.4 + 0.72*1.21  = 2.2712
    assertArrayEquals(new float[] {0, 2.2712f, 1.21f, .5f, 0}, a.advantages().toFloatArray(), EPS);
    assertArrayEquals(new float[] {0, 2.7712f, 2.21f, 2f, 0}, a.returns().toFloatArray(), EPS);
  }

  @Test
  void whiteningUsesOnlyMaskedEntries() {
    NDArray x = manager.create(new float[] {1, 2, 3, 100});
    NDArray mask = manager.create(new float[] {1, 1, 1, 0});
    // mean 2, unbiased variance (1 + 0 + 1) / 2 = 1
    assertArrayEquals(
        new float[] {-1, 0, 1, 0}, PpoLosses.whiten(x, mask, true).toFloatArray(), EPS);
    assertArrayEquals(
        new float[] {1, 2, 3, 0}, PpoLosses.whiten(x, mask, false).toFloatArray(), EPS);
  }

  @Test
  void clippedSurrogateLoss() {
    float h = .5f;
    NDArray logProbs = manager.create(new float[] {h, -h, h, -h, 2});
    NDArray old = manager.zeros(new Shape(5));
    NDArray advantages = manager.create(new float[] {1, 1, -1, -2, 5});
    NDArray mask = manager.create(new float[] {1, 1, 1, 1, 0});
    logProbs.setRequiresGradient(true);
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      PpoLosses.PolicyLoss loss = PpoLosses.policyLoss(logProbs, old, advantages, mask, 0.2f);
      // r = e^.5 = 1.648721, e^-.5 = 0.606531
      // 1: max(-1.648721, -1.2) = -1.2 (clipped)     2: max(-0.606531, -0.8) = -0.606531
      // 3: max(1.648721, 1.2) = 1.648721             4: max(1.213061, 1.6) = 1.6 (clipped)
      // mean = (-1.2 - 0.606531 + 1.648721 + 1.6) / 4 = 0.360548
      assertEquals(0.360548, loss.loss().getFloat(), EPS);
      assertEquals(0.5, loss.clipFraction().getFloat(), EPS);
      // k3: ((1.648721 - 1 - .5) * 2 + (0.606531 - 1 + .5) * 2) / 4 = 0.127626
      assertEquals(0.127626, loss.approxKl().getFloat(), EPS);
      collector.backward(loss.loss());
    }
    float[] grad = logProbs.getGradient().toFloatArray();
    assertEquals(0f, grad[0], EPS, "clipped term carries no gradient");
    assertEquals(-Math.exp(-.5) / 4, grad[1], EPS);
    assertEquals(Math.exp(.5) / 4, grad[2], EPS);
    assertEquals(0f, grad[4], EPS, "masked entry carries no gradient");
  }

  @Test
  void clippedValueLoss() {
    NDArray values = manager.create(new float[] {1, 1, 0});
    NDArray old = manager.create(new float[] {.5f, .9f, .5f});
    NDArray returns = manager.create(new float[] {2, 0, 1});
    NDArray mask = manager.ones(new Shape(3));
    PpoLosses.ValueLoss loss = PpoLosses.valueLoss(values, old, returns, mask, 0.2f);
    // 1: clipped V = 0.7: max((1-2)^2, (0.7-2)^2) = 1.69 (clipped)
    // 2: clipped V = 1.0: max(1, 1) = 1        3: clipped V = 0.3: max(1, 0.49) = 1
    assertEquals(0.5 * (1.69 + 1 + 1) / 3, loss.loss().getFloat(), EPS);
    assertEquals(1 / 3f, loss.clipFraction().getFloat(), EPS);
  }

  @Test
  void entropyOfActionDistributions() {
    NDArray logits =
        manager.create(new float[] {0, 0, (float) Math.log(3), 0, 5, -5}, new Shape(1, 3, 2));
    NDArray mask = manager.create(new float[] {1, 1, 0}, new Shape(1, 3));
    // ln 2 = 0.693147 and H(.75, .25) = 0.562335
    assertEquals((0.693147 + 0.562335) / 2, PpoLosses.entropy(logits, mask).getFloat(), EPS);
  }

  @Test
  void actionSpaceAlignment() {
    NDArray logits = manager.create(new float[] {0, 5, 5, 0, 1, 1}, new Shape(1, 3, 2));
    NDArray tokens = manager.create(new long[] {0, 1, 0}, new Shape(1, 3));
    NDArray responseMask = manager.create(new long[] {0, 0, 1}, new Shape(1, 3));
    NDArray actionMask = PpoLosses.actionMask(responseMask);
    assertArrayEquals(new float[] {0, 1}, actionMask.toFloatArray());
    // action 1 = token 2 (id 0) from logits at slot 1 = [5, 0]
    float[] lp = PpoLosses.actionLogProbs(logits, tokens, actionMask).toFloatArray();
    assertArrayEquals(new float[] {0, (float) -softplus(-5)}, lp, EPS);
    assertEquals(new Shape(1, 2, 2), PpoLosses.actionLogits(logits).getShape());
    assertArrayEquals(
        new float[] {1, 2},
        PpoLosses.actionValues(manager.create(new float[] {1, 2, 3}, new Shape(1, 3)))
            .toFloatArray());
  }

  @Test
  void klControllers() {
    AdaptiveKlController adaptive = new AdaptiveKlController();
    assertEquals(0.2, adaptive.value());
    adaptive.update(12, 100); // error clipped to +0.2: β *= 1 + 0.2 * 100 / 10000
    assertEquals(0.2 * 1.002, adaptive.value(), 1e-12);
    adaptive.update(5.7, 1000); // error -0.05: β *= 1 - 0.05 * 0.1
    assertEquals(0.2 * 1.002 * 0.995, adaptive.value(), 1e-12);
    FixedKlController fixed = new FixedKlController(0.02);
    fixed.update(100, 100);
    assertEquals(0.02, fixed.value());
  }

  @Test
  void learningRateSchedules() {
    LearningRateSchedule cosine = LearningRateSchedule.cosine(1f, 10, 110);
    assertEquals(0.1f, cosine.at(1), EPS);
    assertEquals(0.5f, cosine.at(5), EPS);
    assertEquals(1f, cosine.at(10), EPS);
    assertEquals(0.55f, cosine.at(60), EPS);
    assertEquals(0.1f, cosine.at(110), EPS);
    assertEquals(0.1f, cosine.at(10_000), EPS);
    LearningRateSchedule linear = LearningRateSchedule.linear(1f, 10, 110);
    assertEquals(0.775f, linear.at(35), EPS);
    assertEquals(1f, LearningRateSchedule.constant(1f, 0).at(1_000_000), EPS);
    assertFalse(cosine.at(30) < cosine.at(31), "decays monotonically");
    assertTrue(cosine.at(30) > cosine.at(90));
  }
}
