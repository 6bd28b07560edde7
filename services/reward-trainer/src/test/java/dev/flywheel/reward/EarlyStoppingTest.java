package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.TokenBatch;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EarlyStoppingTest {

  static NDManager manager;
  static final List<int[]> SEQUENCES =
      List.of(
          new ChatTemplate()
              .encode(List.of(ChatTurn.user("What is 1+1?"), ChatTurn.assistant("2"))),
          new ChatTemplate()
              .encode(List.of(ChatTurn.user("What is 1+1?"), ChatTurn.assistant("three"))));

  @TempDir Path tmp;

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(3);
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static void train(RewardModel model) {
    Learner learner =
        new Learner(
            new OptimizerConfig(
                LearningRateSchedule.constant(1e-2f, 0), 0.9f, 0.95f, 1e-8f, 0f, 1f, 1),
            model);
    for (int i = 0; i < 3; i++) {
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
  void stopsAfterPatienceEpochsWithoutANewBestAndRestoresTheBestEpoch() {
    try (RewardModel model = RewardModel.create(GptConfig.tiny(), manager);
        EarlyStopping early = new EarlyStopping(2)) {
      assertFalse(early.observe(0, 0.70, model));
      train(model);
      float[] atBest = model.score(SEQUENCES);
      assertFalse(early.observe(1, 0.60, model), "a new best");
      train(model);
      assertFalse(
          early.observe(2, 0.65, model), "one epoch without a new best: patience 2 goes on");
      train(model);
      assertTrue(early.observe(3, 0.61, model), "two in a row: stop");
      assertEquals(1, early.bestEpoch());
      assertEquals(0.60, early.bestLoss());
      early.restoreBest(model);
      assertArrayEquals(atBest, model.score(SEQUENCES), "the model is back at epoch 1");
    }
  }

  @Test
  void itsStateSurvivesACheckpoint() throws Exception {
    try (RewardModel model = RewardModel.create(GptConfig.tiny(), manager);
        RewardModel resumed = RewardModel.create(GptConfig.tiny(), manager);
        EarlyStopping early = new EarlyStopping(2);
        EarlyStopping again = new EarlyStopping(2)) {
      train(model);
      float[] atBest = model.score(SEQUENCES);
      early.observe(1, 0.5, model);
      train(model);
      early.observe(2, 0.55, model);
      Map<String, String> state = early.state();
      early.saveBest(tmp);

      again.resume(state, tmp, resumed);
      assertEquals(1, again.bestEpoch());
      assertEquals(1, again.evaluationsSinceBest());
      assertTrue(
          again.observe(3, 0.56, resumed),
          "the second epoch without a new best, counted across the restart");
      again.restoreBest(resumed);
      assertArrayEquals(atBest, resumed.score(SEQUENCES));
    }
  }
}
