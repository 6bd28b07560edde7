package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The DPO losses against values computed by hand. */
class DpoLossTest {

  NDManager manager;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  @Test
  void sigmoidLossIsSoftplusOfTheNegatedScaledMargin() {
    // pair 0: h = (-3 - -4) - (-5 - -4) = 1 - (-1) = 2;  pair 1: h = (-6 - -5) - (-2 - -2) = -1
    // β = 0.5: −log σ(1) = 0.313262, −log σ(−0.5) = 0.974077; mean 0.643669
    DpoLoss.Result r =
        DpoLoss.sigmoid(
            manager.create(new float[] {-3, -6}),
            manager.create(new float[] {-5, -2}),
            manager.create(new float[] {-4, -5}),
            manager.create(new float[] {-4, -2}),
            0.5f,
            0f);
    assertEquals(0.643669, r.loss().getFloat(), 1e-5);
    assertEquals(0.5, r.margin().getFloat(), 1e-6);
    assertEquals(0.5, r.accuracy().getFloat(), 1e-6);
  }

  @Test
  void weightsMakeAWeightedMean() {
    // the pairs of the first test, weights 3 : 1 → loss 0.75·0.313262 + 0.25·0.974077 = 0.478466,
    // margin 0.75·2 + 0.25·(−1) = 1.25, accuracy 0.75
    DpoLoss.Result r =
        DpoLoss.sigmoid(
            manager.create(new float[] {-3, -6}),
            manager.create(new float[] {-5, -2}),
            manager.create(new float[] {-4, -5}),
            manager.create(new float[] {-4, -2}),
            0.5f,
            0f,
            manager.create(new float[] {0.3f, 0.1f}));
    assertEquals(0.478466, r.loss().getFloat(), 1e-5);
    assertEquals(1.25, r.margin().getFloat(), 1e-6);
    assertEquals(0.75, r.accuracy().getFloat(), 1e-6);
    // IPO, β = 0.25: per-pair 0 and 9 → 0.75·0 + 0.25·9 = 2.25
    DpoLoss.Result ipo =
        DpoLoss.ipo(
            manager.create(new float[] {-3, -6}),
            manager.create(new float[] {-5, -2}),
            manager.create(new float[] {-4, -5}),
            manager.create(new float[] {-4, -2}),
            0.25f,
            manager.create(new float[] {3f, 1f}));
    assertEquals(2.25, ipo.loss().getFloat(), 1e-5);
  }

  @Test
  void labelSmoothingMixesInTheFlippedLabel() {
    // h = 2, β = 1, ε = 0.1: 0.9·softplus(−2) + 0.1·softplus(2) = 0.9·0.126928 + 0.1·2.126928 =
    // 0.326928
    DpoLoss.Result r =
        DpoLoss.sigmoid(
            manager.create(new float[] {0}),
            manager.create(new float[] {-2}),
            manager.create(new float[] {0}),
            manager.create(new float[] {0}),
            1f,
            0.1f);
    assertEquals(0.326928, r.loss().getFloat(), 1e-5);
  }

  @Test
  void theSigmoidLossStaysFiniteForHugeMargins() {
    DpoLoss.Result r =
        DpoLoss.sigmoid(
            manager.create(new float[] {0, -400}),
            manager.create(new float[] {-400, 0}),
            manager.create(new float[] {0, 0}),
            manager.create(new float[] {0, 0}),
            1f,
            0f);
    assertEquals(200, r.loss().getFloat(), 1e-3); // pair 0 costs ~0, pair 1 costs 400
  }

  @Test
  void ipoPullsTheMarginToOneOverTwoBeta() {
    // β = 0.25 → target margin 2; h = 2 costs 0, h = -1 costs 9; mean 4.5
    DpoLoss.Result r =
        DpoLoss.ipo(
            manager.create(new float[] {-3, -6}),
            manager.create(new float[] {-5, -2}),
            manager.create(new float[] {-4, -5}),
            manager.create(new float[] {-4, -2}),
            0.25f);
    assertEquals(4.5, r.loss().getFloat(), 1e-5);
  }

  @Test
  void theGradientRaisesTheChosenAndLowersTheRejectedButNeverTouchesTheReference() {
    NDArray chosen = manager.create(new float[] {-3});
    NDArray rejected = manager.create(new float[] {-3});
    NDArray chosenRef = manager.create(new float[] {-3});
    chosen.setRequiresGradient(true);
    rejected.setRequiresGradient(true);
    chosenRef.setRequiresGradient(true);
    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      gc.backward(
          DpoLoss.sigmoid(chosen, rejected, chosenRef, manager.create(new float[] {-3}), 0.1f, 0f)
              .loss());
    }
    // d/dh softplus(−βh) at h = 0 is −β/2
    assertEquals(-0.05, chosen.getGradient().getFloat(), 1e-6);
    assertEquals(0.05, rejected.getGradient().getFloat(), 1e-6);
    assertEquals(0, chosenRef.getGradient().getFloat(), 0);
  }

  @Test
  void invalidSettingsAreRefused() {
    NDArray x = manager.create(new float[] {0});
    assertThrows(IllegalArgumentException.class, () -> DpoLoss.sigmoid(x, x, x, x, 0f, 0f));
    assertThrows(IllegalArgumentException.class, () -> DpoLoss.sigmoid(x, x, x, x, 0.1f, 0.5f));
    assertThrows(IllegalArgumentException.class, () -> DpoLoss.ipo(x, x, x, x, -1f));
  }
}
