package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParameterSnapshotTest {

  static NDManager manager;
  static final List<int[]> SEQUENCES =
      List.of(
          new ChatTemplate()
              .encode(List.of(ChatTurn.user("What is 2+3?"), ChatTurn.assistant("5"))),
          new ChatTemplate()
              .encode(List.of(ChatTurn.user("What is 2+3?"), ChatTurn.assistant("It is six."))));

  @TempDir Path tmp;

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(11);
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  /** One optimizer step that pushes the first sequence's score above the second's. */
  private static void train(RewardModel model, int steps) {
    Learner learner =
        new Learner(
            new OptimizerConfig(
                LearningRateSchedule.constant(1e-2f, 0), 0.9f, 0.95f, 1e-8f, 0f, 1f, 1),
            model);
    for (int i = 0; i < steps; i++) {
      learner.step(
          (sm, micro) -> {
            TokenBatch tb = TokenBatch.of(sm, SEQUENCES, TokenBatch.Side.RIGHT);
            return PairwiseRewardLoss.compute(
                    model.scores(tb.tokens(), tb.mask(), true),
                    List.of(List.of(new PairwiseRewardLoss.Comparison(0, 1))))
                .loss();
          });
    }
  }

  @Test
  void restoreBringsBackTheScoresOfTheMomentTheSnapshotWasTaken() {
    try (RewardModel model = RewardModel.create(GptConfig.tiny(), manager)) {
      float[] before = model.score(SEQUENCES);
      try (ParameterSnapshot snapshot = ParameterSnapshot.of(model)) {
        train(model, 5);
        float[] trained = model.score(SEQUENCES);
        assertFalse(Arrays.equals(before, trained), "training changed the scores");
        snapshot.restoreInto(model);
        assertArrayEquals(before, model.score(SEQUENCES), "restored scores");
        // the restored parameters still train (gradients are attached again)
        train(model, 1);
        assertFalse(Arrays.equals(before, model.score(SEQUENCES)), "the restored model trains");
      }
    }
  }

  @Test
  void aSavedSnapshotLoadsIntoAnotherProcessOfTheSameShape() throws Exception {
    try (RewardModel model = RewardModel.create(GptConfig.tiny(), manager);
        RewardModel other = RewardModel.create(GptConfig.tiny(), manager)) {
      train(model, 3);
      float[] expected = model.score(SEQUENCES);
      Path file = tmp.resolve("best.ndlist");
      try (ParameterSnapshot snapshot = ParameterSnapshot.of(model)) {
        snapshot.save(file);
      }
      try (ParameterSnapshot loaded = ParameterSnapshot.load(file, other)) {
        loaded.restoreInto(other);
      }
      assertArrayEquals(expected, other.score(SEQUENCES));
    }
  }

  @Test
  void aSnapshotOfAnotherShapeIsRefused() {
    try (RewardModel tiny = RewardModel.create(GptConfig.tiny(), manager);
        RewardModel small = RewardModel.create(GptConfig.small(), manager);
        ParameterSnapshot snapshot = ParameterSnapshot.of(tiny)) {
      assertThrows(IllegalArgumentException.class, () -> snapshot.restoreInto(small));
    }
  }
}
