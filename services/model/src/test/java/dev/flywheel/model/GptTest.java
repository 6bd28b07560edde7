package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GptTest {

  static NDManager manager;
  static PolicyModel policy;

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(7);
    manager = NDManager.newBaseManager();
    policy = PolicyModel.create(GptConfig.tiny(), manager);
  }

  @AfterAll
  static void tearDown() {
    policy.close();
    manager.close();
  }

  @Test
  void parameterCountMatchesConfig() {
    assertEquals(GptConfig.tiny().trunkParameters(), policy.parameterCount());
    assertEquals(120_960, policy.parameterCount());
  }

  @Test
  void changingTokenTChangesNoLogitsBeforeT() {
    int length = 24;
    int changed = 11;
    long[] a = new long[length];
    for (int i = 0; i < length; i++) {
      a[i] = (i * 37 + 5) % 256;
    }
    long[] b = a.clone();
    b[changed] = (a[changed] + 101) % 256;
    try (InferenceSession s = InferenceSession.open(policy)) {
      float[] la =
          policy.logits(s.manager().create(a, new Shape(1, length)), null, false).toFloatArray();
      float[] lb =
          policy.logits(s.manager().create(b, new Shape(1, length)), null, false).toFloatArray();
      int vocab = GptConfig.tiny().vocabSize();
      for (int t = 0; t < length; t++) {
        float maxDiff = 0;
        for (int v = 0; v < vocab; v++) {
          maxDiff = Math.max(maxDiff, Math.abs(la[t * vocab + v] - lb[t * vocab + v]));
        }
        if (t < changed) {
          assertEquals(0f, maxDiff, "logits at " + t + " changed");
        } else {
          assertTrue(maxDiff > 1e-6, "logits at " + t + " should depend on token " + changed);
        }
      }
    }
  }

  @Test
  void paddedRowsComputeWhatTheyWouldAlone() {
    int[] shortRow = {257, 260, 104, 105, 258, 261};
    int[] longRow = {257, 260, 119, 104, 97, 116, 32, 105, 115, 258, 261};
    try (InferenceSession s = InferenceSession.open(policy)) {
      for (TokenBatch.Side side : TokenBatch.Side.values()) {
        TokenBatch batch = TokenBatch.of(s.manager(), List.of(shortRow, longRow), side);
        NDArray logits = policy.logits(batch.tokens(), batch.mask(), false);
        NDArray alone =
            policy.logits(
                s.manager().create(toLong(shortRow), new Shape(1, shortRow.length)), null, false);
        int offset = side == TokenBatch.Side.LEFT ? longRow.length - shortRow.length : 0;
        NDArray fromBatch = logits.get("0, {}:{}, :", offset, offset + shortRow.length);
        float diff = fromBatch.sub(alone.get(0)).abs().max().getFloat();
        assertTrue(diff < 1e-4, side + " padding changed the short row's logits by " + diff);
      }
    }
  }

  @Test
  void rewardIsReadAtTheLastRealTokenWhateverThePadding() {
    List<int[]> rows =
        List.of(
            new int[] {257, 260, 104, 105, 258},
            new int[] {257, 260, 119, 104, 97, 116, 258, 261, 1, 258});
    try (RewardModel reward = RewardModel.create(GptConfig.tiny(), manager);
        InferenceSession s = InferenceSession.open(reward)) {
      float[] alone = new float[rows.size()];
      for (int i = 0; i < rows.size(); i++) {
        int[] row = rows.get(i);
        alone[i] =
            reward
                .scores(s.manager().create(toLong(row), new Shape(1, row.length)), null, false)
                .getFloat();
      }
      for (TokenBatch.Side side : TokenBatch.Side.values()) {
        TokenBatch batch = TokenBatch.of(s.manager(), rows, side);
        assertArrayEquals(
            alone,
            reward.scores(batch.tokens(), batch.mask(), false).toFloatArray(),
            1e-4f,
            side.name());
      }
      assertArrayEquals(alone, reward.score(rows), 1e-4f);
    }
  }

  @Test
  void rewardModelsLogitsAreThoseOfAPolicyWithItsTrunk() {
    List<int[]> rows =
        List.of(
            new int[] {257, 260, 104, 105, 258, 261, 7, 258},
            new int[] {257, 260, 119, 104, 97, 116, 258, 261, 1, 2, 3, 258});
    try (RewardModel reward = RewardModel.create(GptConfig.tiny(), manager);
        InferenceSession s = InferenceSession.open(reward)) {
      policy.copyTrunkFrom(reward);
      TokenBatch batch = TokenBatch.of(s.manager(), rows, TokenBatch.Side.RIGHT);
      NDList both = reward.scoresAndLogits(batch.tokens(), batch.mask(), false);
      assertArrayEquals(
          reward.scores(batch.tokens(), batch.mask(), false).toFloatArray(),
          both.get(0).toFloatArray(),
          1e-5f);
      assertArrayEquals(
          policy.logits(batch.tokens(), batch.mask(), false).toFloatArray(),
          both.get(1).toFloatArray(),
          1e-5f);
    }
  }

  @Test
  void valueModelGivesOneValuePerToken() {
    try (ValueModel value = ValueModel.create(GptConfig.tiny(), manager);
        InferenceSession s = InferenceSession.open(value)) {
      TokenBatch batch =
          TokenBatch.of(
              s.manager(), List.of(new int[] {1, 2, 3}, new int[] {4, 5}), TokenBatch.Side.RIGHT);
      assertEquals(new Shape(2, 3), value.values(batch.tokens(), batch.mask(), false).getShape());
    }
  }

  @Test
  void configRoundTripsThroughJsonAndValidates() {
    for (GptConfig config : List.of(GptConfig.tiny(), GptConfig.small(), GptConfig.medium())) {
      assertEquals(config, GptConfig.fromJson(config.toJson()));
    }
    assertEquals(859_648, GptConfig.small().trunkParameters());
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new GptConfig(262, 64, 2, 64, 3, 0f));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> GptConfig.fromJson("{\"vocabSize\": 262}"));
  }

  @Test
  void modelsAreOrdinaryDjlBlocks() {
    try (InferenceSession s = InferenceSession.open(policy)) {
      NDArray tokens = s.manager().create(new long[] {1, 2, 3, 4}, new Shape(2, 2));
      ai.djl.ndarray.NDList out =
          policy.forward(
              new ai.djl.training.ParameterStore(s.manager(), false),
              new ai.djl.ndarray.NDList(tokens),
              false);
      assertEquals(
          new Shape(2, 2, GptConfig.tiny().vocabSize()), out.singletonOrThrow().getShape());
      assertArrayEquals(
          policy.logits(tokens, null, false).toFloatArray(), out.singletonOrThrow().toFloatArray());
    }
  }

  static long[] toLong(int[] a) {
    long[] out = new long[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i];
    }
    return out;
  }
}
