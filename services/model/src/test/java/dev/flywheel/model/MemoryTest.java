package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Nothing accumulates in long-lived managers: the model's, the KV cache's, the Learner's. */
class MemoryTest {

  static final List<int[]> PROMPTS =
      List.of(
          new ChatTemplate().encodeForGeneration(List.of(ChatTurn.user("hi"))),
          new int[] {ByteTokenizer.BOS});

  @Test
  void inferenceLeavesNothingInTheModelsManager() {
    Engine.getInstance().setRandomSeed(4);
    try (NDManager manager = NDManager.newBaseManager();
        PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager);
        RewardModel reward = RewardModel.create(GptConfig.tiny(), manager)) {
      int policyArrays = policy.manager().getManagedArrays().size();
      int rewardArrays = reward.manager().getManagedArrays().size();
      assertEquals(policy.getParameters().size(), policyArrays);
      Sampler sampler = new Sampler(policy);
      sampler.generate(PROMPTS, SamplingConfig.greedy(8).withStopOnEos(false));
      sampler.generate(PROMPTS, SamplingConfig.greedy(8).withStopOnEos(false).withKvCache(false));
      reward.score(PROMPTS);
      assertEquals(policyArrays, policy.manager().getManagedArrays().size());
      assertEquals(rewardArrays, reward.manager().getManagedArrays().size());
    }
  }

  @Test
  void kvCacheHoldsOnlyItsCurrentContents() {
    GptConfig config = GptConfig.tiny();
    try (NDManager manager = NDManager.newBaseManager();
        PolicyModel policy = PolicyModel.create(config, manager);
        InferenceSession session = InferenceSession.open(policy);
        Gpt.KvCache cache = policy.trunk().newCache(session.manager())) {
      for (int step = 0; step < 10; step++) {
        try (NDManager stepManager = session.manager().newSubManager()) {
          NDArray tokens = stepManager.create(new long[] {step + 1, step + 2}, new Shape(2, 1));
          policy.logits(tokens, null, cache);
        }
        // keys and values per layer, the key mask and the token counts
        assertEquals(
            2 * config.layers() + 2, session.manager().getManagedArrays().size(), "step " + step);
      }
      assertEquals(10, cache.length());
    }
  }

  @Test
  void learnerStateStopsGrowingAfterTheFirstStep() {
    try (NDManager manager = NDManager.newBaseManager();
        PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager)) {
      Learner learner =
          new Learner(OptimizerConfig.adamW(LearningRateSchedule.constant(1e-3f, 0)), policy);
      Learner.LossFunction loss =
          (sm, micro) -> {
            TokenBatch batch = TokenBatch.of(sm, PROMPTS, TokenBatch.Side.RIGHT);
            return SftLoss.loss(
                policy.logits(batch.tokens(), batch.mask(), true), batch.tokens(), batch.mask());
          };
      learner.step(loss);
      int afterFirst = policy.manager().getManagedArrays().size();
      learner.step(loss);
      learner.step(loss);
      assertEquals(afterFirst, policy.manager().getManagedArrays().size());
      // only the parameters: gradients are freed with each step, and DJL keeps AdamW's moment
      // estimates detached from every manager (they go with the Learner)
      assertEquals(policy.getParameters().size(), afterFirst);
    }
  }
}
