package dev.flywheel.policy.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.InferenceSession;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.TokenBatch;
import dev.flywheel.model.ValueModel;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The trainer's assembly of PPO tensors, against hand-computed values: where responses, masks,
 * behaviour log-probs and the score land; the KL-penalised rewards and GAE it builds from them; the
 * β update; the missing-EOS penalty; the reward-model scorer and the value model initialised from
 * it. (The loss functions themselves are tested in the ML core.)
 */
class PpoAssemblyTest {

  static final int B = ByteTokenizer.BOS;
  static final int U = ByteTokenizer.USER;
  static final int A = ByteTokenizer.ASSISTANT;
  static final int E = ByteTokenizer.EOS;
  static final int P = ByteTokenizer.PAD;

  static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  /**
   * Row 0: 5-token prompt, response "xy" + EOS. Row 1: 3-token prompt, response "z" cut before
   * EOS...
   */
  static Rollout twoRows() {
    List<int[]> prompts = List.of(new int[] {B, U, 'q', E, A}, new int[] {B, U, A});
    List<int[]> responses = List.of(new int[] {'x', 'y', E}, new int[] {'z', 'w'});
    List<float[]> logProbs =
        List.of(new float[] {-1.0f, -2.0f, -0.5f}, new float[] {-0.25f, -3.0f});
    return Rollout.of(prompts, responses, logProbs);
  }

  @Test
  void responsesMasksAndBehaviourLogProbsLandOnTheResponseActionsOnly() {
    Rollout r = twoRows();
    assertEquals(8, r.length(), "T = longest prompt + response");
    assertArrayEquals(
        new long[] {B, U, 'q', E, A, 'x', 'y', E, B, U, A, 'z', 'w', P, P, P}, r.tokenArray());
    assertArrayEquals(
        new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, r.paddingMaskArray());
    // action t chooses token t+1: row 0's response tokens sit at 5..7, so its actions are 4..6;
    // row 1's at 3..4, actions 2..3. Prompt and padding actions are masked out.
    assertArrayEquals(new float[] {0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0}, r.actionMaskArray());
    assertArrayEquals(
        new float[] {0, 0, 0, 0, -1f, -2f, -0.5f, 0, 0, -0.25f, -3f, 0, 0, 0},
        r.behaviourLogProbArray());
    assertTrue(r.stopped(0));
    assertTrue(!r.stopped(1));
    assertEquals(5, r.responseTokens());
  }

  @Test
  void klPenaltyOnEveryResponseTokenScoreOnTheLastAndGaeMatchHandComputedValues() {
    Rollout r = twoRows();
    float[] ref = {0, 0, 0, 0, -1.5f, -1.0f, -0.5f, 0, 0, -0.5f, -2.0f, 0, 0, 0};
    float[] values = {0, 0, 0, 0, 0.2f, 0.4f, 0.6f, 0, 0, 0.1f, -0.3f, 0, 0, 0};
    float[] scores = {1.0f, -2.0f};
    PpoConfig c = new PpoConfig();
    c.setWhitenAdvantages(false);
    float beta = 0.1f;
    PpoTrainer.Advantages adv = PpoTrainer.advantages(r, ref, values, scores, beta, c);

    // kl_t = log π − log π_ref on the mask
    float[] kl = {0, 0, 0, 0, 0.5f, -1.0f, 0, 0, 0, 0.25f, -1.0f, 0, 0, 0};
    assertArrayEquals(kl, adv.kl(), 1e-6f);
    // r_t = −β·kl_t, plus the score at the row's last response action (6 and 9 + 1 = 10 → index
    // 7+3)
    float[] rewards = {0, 0, 0, 0, -0.05f, 0.1f, 1.0f, 0, 0, -0.025f, 0.1f - 2.0f, 0, 0, 0};
    assertArrayEquals(rewards, adv.rewards(), 1e-6f);
    assertEquals((0.5 - 1.0 + 0.25 - 1.0) / 2, adv.meanSequenceKl(), 1e-6);

    // GAE, γ = 1, λ = 0.95, the last response action is terminal:
    double lam = 0.95;
    double a6 = 1.0 - 0.6; // δ6 = r6 − V6
    double a5 = (0.1 + 0.6 - 0.4) + lam * a6; // δ5 = r5 + V6 − V5
    double a4 = (-0.05 + 0.4 - 0.2) + lam * a5;
    double a10 = (-1.9 - (-0.3));
    double a9 = (-0.025 + (-0.3) - 0.1) + lam * a10;
    float[] advantages = {
      0, 0, 0, 0, (float) a4, (float) a5, (float) a6, 0, 0, (float) a9, (float) a10, 0, 0, 0
    };
    assertArrayEquals(advantages, adv.advantages(), 1e-5f);
    float[] returns = new float[14];
    for (int i = 0; i < 14; i++) {
      returns[i] = advantages[i] + values[i] * r.actionMaskArray()[i];
    }
    assertArrayEquals(returns, adv.returns(), 1e-5f);

    // whitened advantages: zero mean and unit (unbiased) variance over the 5 masked actions
    c.setWhitenAdvantages(true);
    float[] whitened = PpoTrainer.advantages(r, ref, values, scores, beta, c).advantages();
    double mean = (a4 + a5 + a6 + a9 + a10) / 5;
    double var = 0;
    for (double a : new double[] {a4, a5, a6, a9, a10}) {
      var += (a - mean) * (a - mean) / 4;
    }
    assertEquals((a4 - mean) / Math.sqrt(var + 1e-8), whitened[4], 1e-4);
    assertEquals(0f, whitened[0], 0f);
    assertEquals(0f, whitened[11], 0f);
  }

  @Test
  void theLeaveOneOutBaselineRemovesEachPromptsOffset() {
    // two prompts, three samples each; the second prompt's scores are the first's + 10
    float[] scores = {1f, 2f, 6f, 11f, 12f, 16f};
    GroupAdvantages.leaveOneOut(scores, 3);
    // 1 - (2+6)/2 = -3; 2 - (1+6)/2 = -1.5; 6 - (1+2)/2 = 4.5
    assertArrayEquals(new float[] {-3f, -1.5f, 4.5f, -3f, -1.5f, 4.5f}, scores, 1e-6f);
    assertThrows(
        IllegalArgumentException.class, () -> GroupAdvantages.leaveOneOut(new float[5], 2));
    PpoConfig bad = new PpoConfig();
    bad.setSamplesPerPrompt(3); // 128 % 3 != 0
    assertThrows(IllegalArgumentException.class, bad::validate);
  }

  @Test
  void rlooPutsTheKlIntoASequenceRewardAndSubtractsTheOtherSamplesMean() {
    // one prompt's group of k = 2 (the two rows). Reference log-probs on the response actions:
    // row 0 (actions 4..6) −1.5, −2, −1 → KL = 0.5 + 0 + 0.5 = 1; row 1 (actions 9, 10) −0.25, −2 →
    // KL = 0 − 1 = −1
    Rollout r = twoRows();
    float[] ref = {0, 0, 0, 0, -1.5f, -2f, -1f, 0, 0, -0.25f, -2f, 0, 0, 0};
    PpoConfig c = new PpoConfig();
    c.setAlgorithm(PpoConfig.Algorithm.RLOO);
    c.setWhitenAdvantages(false);
    // β = 0.25: R0 = 2 − 0.25·1 = 1.75, R1 = 1 + 0.25 = 1.25; A0 = 1.75 − 1.25 = 0.5, A1 = −0.5, on
    // every response action
    PpoTrainer.Advantages a = GroupAdvantages.of(r, ref, new float[] {2f, 1f}, 0.25f, 2, c);
    assertArrayEquals(
        new float[] {0, 0, 0, 0, .5f, .5f, .5f, 0, 0, -.5f, -.5f, 0, 0, 0}, a.advantages(), 1e-6f);
    assertArrayEquals(
        new float[] {0, 0, 0, 0, 0, 0, 1.75f, 0, 0, 0, 1.25f, 0, 0, 0}, a.rewards(), 1e-6f);
    assertArrayEquals(new float[] {0, 0, 0, 0, .5f, 0, .5f, 0, 0, 0, -1f, 0, 0, 0}, a.kl(), 1e-6f);
    assertEquals(0.0, a.meanSequenceKl(), 1e-6);
    // whitened over the batch: ±0.5 / std(0.5, −0.5) = ±0.7071
    c.setWhitenAdvantages(true);
    float[] w = GroupAdvantages.of(r, ref, new float[] {2f, 1f}, 0.25f, 2, c).advantages();
    assertEquals(0.70711f, w[4], 1e-4f);
    assertEquals(-0.70711f, w[10], 1e-4f);
  }

  @Test
  void grpoNormalisesScoresWithinTheGroupAndLeavesTheKlOutOfTheAdvantage() {
    Rollout r = twoRows();
    float[] ref = {0, 0, 0, 0, -1.5f, -2f, -1f, 0, 0, -0.25f, -2f, 0, 0, 0};
    PpoConfig c = new PpoConfig();
    c.setAlgorithm(PpoConfig.Algorithm.GRPO);
    // scores 2, 1: mean 1.5, std (k − 1 in the denominator) 0.7071; A = ±0.5 / (0.7071 + 1e-4); β
    // plays no part
    for (float beta : new float[] {0f, 0.25f}) {
      float[] adv = GroupAdvantages.of(r, ref, new float[] {2f, 1f}, beta, 2, c).advantages();
      assertEquals(0.70700f, adv[5], 1e-4f);
      assertEquals(-0.70700f, adv[9], 1e-4f);
      assertEquals(0f, adv[7], 0f);
    }
    // equal scores carry no signal
    float[] flat = GroupAdvantages.of(r, ref, new float[] {3f, 3f}, 0.25f, 2, c).advantages();
    for (float x : flat) {
      assertEquals(0f, x, 0f);
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> GroupAdvantages.of(r, ref, new float[] {1f, 2f}, 0f, 3, c));
  }

  @Test
  void onlineDpoPairsEachPromptsBestWithItsWorstAndSkipsTies() {
    float[] scores = {1f, 3f, 2f, 5f, 5f, 5f, 0f, -1f, 4f};
    List<int[]> pairs = OnlineDpoTrainer.bestVersusWorst(scores, 3);
    assertEquals(2, pairs.size());
    assertArrayEquals(new int[] {1, 0}, pairs.get(0));
    assertArrayEquals(new int[] {8, 7}, pairs.get(1));
  }

  @Test
  void raftKeepsEachPromptsBestAndTheFirstOfEqualScores() {
    float[] scores = {1f, 3f, 2f, 5f, 5f, 5f, 0f, -1f, 4f};
    assertArrayEquals(new int[] {1, 3, 8}, RaftTrainer.bestOfEach(scores, 3));
  }

  @Test
  void groupAlgorithmsRefuseASingleSamplePerPromptAndDefaultTheirOwnK() {
    PpoConfig c = new PpoConfig();
    assertEquals(1, c.effectiveSamplesPerPrompt());
    for (PpoConfig.Algorithm algorithm :
        List.of(
            PpoConfig.Algorithm.RLOO,
            PpoConfig.Algorithm.GRPO,
            PpoConfig.Algorithm.ONLINE_DPO,
            PpoConfig.Algorithm.RAFT)) {
      c.setAlgorithm(algorithm);
      c.setSamplesPerPrompt(0);
      assertTrue(c.validate().effectiveSamplesPerPrompt() >= 2, algorithm.name());
      c.setSamplesPerPrompt(1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::validate);
      assertTrue(e.getMessage().contains("samples-per-prompt"), e.getMessage());
    }
    c.setAlgorithm(PpoConfig.Algorithm.ONLINE_DPO);
    c.setSamplesPerPrompt(0);
    assertEquals("online-dpo", c.toMap().get("ppo.algorithm"));
    assertEquals("0.1", c.toMap().get("ppo.dpo-beta"));
  }

  @Test
  void adaptiveBetaFollowsZieglerUpdateFixedBetaStaysAndMissingEosIsPenalised() {
    Engine.getInstance().setRandomSeed(5);
    GptConfig config = TinyTasks.tinyConfig(32);
    try (PolicyModel policy = PolicyModel.create(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager)) {
      PpoConfig c = new PpoConfig();
      c.setRolloutBatchSize(8);
      c.setMiniBatchSize(4);
      c.setPpoEpochs(1);
      c.setMaxNewTokens(4); // an untrained policy rarely says EOS within 4 tokens
      c.setValueInit(PpoConfig.ValueInit.POLICY);
      c.setMissingEosPenalty(0.5f);
      c.setKlTarget(0.5);
      c.setKlHorizon(100);
      c.setInitKlCoef(0.3);
      float[] seen = new float[1];
      RewardFunction constant =
          (prompts, responses) -> {
            float[] s = new float[responses.size()];
            java.util.Arrays.fill(s, 1f);
            return s;
          };
      try (ValueModel value =
          ValueInitialisation.create(c.getValueInit(), policy, null, 0, 1, manager)) {
        // a reference that differs from the policy, so the KL is not zero
        PpoTrainer trainer =
            new PpoTrainer(
                c,
                policy,
                reference,
                value,
                constant,
                PpoTrainer.klController(c, c.getInitKlCoef()),
                new ScoreNormalizer(),
                List.of());
        IterationStats s = trainer.iterate(TinyTasks.letterPrompts(8, 0), 11);
        double error = Math.max(-0.2, Math.min(0.2, s.kl() / 0.5 - 1));
        assertEquals(0.3, s.beta(), 1e-6);
        assertEquals(0.3 * (1 + error * 8 / 100.0), s.nextBeta(), 1e-9);
        assertEquals(s.nextBeta(), trainer.kl().value(), 1e-12);
        // every response was cut at 4 tokens: score 1 − 0.5
        assertEquals(1.0 - 0.5 * (1 - s.eosRate()), s.meanReward(), 1e-6);
        seen[0] = (float) s.meanReward();
      }
      c.setKlControl(PpoConfig.KlControl.FIXED);
      c.setInitKlCoef(0.02);
      try (ValueModel value =
          ValueInitialisation.create(c.getValueInit(), policy, null, 0, 1, manager)) {
        PpoTrainer trainer =
            new PpoTrainer(
                c,
                policy,
                reference,
                value,
                constant,
                PpoTrainer.klController(c, c.getInitKlCoef()),
                new ScoreNormalizer(),
                List.of());
        IterationStats s = trainer.iterate(TinyTasks.letterPrompts(8, 0), 12);
        assertEquals(0.02, s.beta(), 1e-6);
        assertEquals(0.02, s.nextBeta(), 1e-9);
        assertTrue(s.kl() != 0, "reference and policy differ");
      }
    }
  }

  @Test
  void
      rewardModelScorerEndsEveryResponseWithEosAndSubtractsTheOffsetAndTheValueModelStartsFromIt() {
    Engine.getInstance().setRandomSeed(9);
    GptConfig config = TinyTasks.tinyConfig(32);
    try (RewardModel rm = RewardModel.create(config, manager);
        PolicyModel policy = PolicyModel.create(config, manager)) {
      assertArrayEquals(
          new int[] {B, A, 'x', E},
          RewardModelScorer.sequence(new int[] {B, A}, new int[] {'x'}, 32));
      assertArrayEquals(
          new int[] {B, A, 'x', E},
          RewardModelScorer.sequence(new int[] {B, A}, new int[] {'x', E}, 32));
      assertArrayEquals(
          new int[] {'x', E}, RewardModelScorer.sequence(new int[] {B, A}, new int[] {'x'}, 2));

      double offset = 0.75;
      RewardModelScorer scorer = new RewardModelScorer(rm, offset);
      int[] prompt = {B, U, 'h', 'i', E, A};
      int[] response = {'o', 'k'};
      float raw = rm.score(List.of(new int[] {B, U, 'h', 'i', E, A, 'o', 'k', E}))[0];
      float[] scored = scorer.score(List.of(prompt), List.of(response));
      assertEquals(raw - offset, scored[0], 1e-5);

      // InstructGPT: V starts as the reward model (trunk and head), here minus the offset, so V at
      // the final EOS equals the offset-corrected score
      try (ValueModel value =
              ValueInitialisation.create(
                  PpoConfig.ValueInit.REWARD_MODEL, policy, rm, offset, 1, manager);
          InferenceSession s = InferenceSession.open(value)) {
        int[] seq = {B, U, 'h', 'i', E, A, 'o', 'k', E};
        TokenBatch batch = TokenBatch.of(s.manager(), List.of(seq), TokenBatch.Side.RIGHT);
        float[] v = value.values(batch.tokens(), batch.mask(), false).toFloatArray();
        assertEquals(raw - offset, v[seq.length - 1], 1e-4);
        assertTrue(
            ValueInitialisation.fromRewardModel(PpoConfig.ValueInit.REWARD_MODEL, policy, rm));
      }

      // score-normalization reward-model: the scorer and the value model's starting head use the
      // version's reward_scale, so V still starts at the score the scorer gives
      double scale = 0.25;
      float[] unit =
          new RewardModelScorer(rm, offset, scale).score(List.of(prompt), List.of(response));
      assertEquals((raw - offset) / scale, unit[0], 1e-4);
      try (ValueModel value =
              ValueInitialisation.create(
                  PpoConfig.ValueInit.REWARD_MODEL, policy, rm, offset, scale, manager);
          InferenceSession s = InferenceSession.open(value)) {
        int[] seq = {B, U, 'h', 'i', E, A, 'o', 'k', E};
        TokenBatch batch = TokenBatch.of(s.manager(), List.of(seq), TokenBatch.Side.RIGHT);
        float[] v = value.values(batch.tokens(), batch.mask(), false).toFloatArray();
        assertEquals(unit[0], v[seq.length - 1], 1e-3);
      }
      assertThrows(IllegalArgumentException.class, () -> new RewardModelScorer(rm, offset, 0));
      assertThrows(
          IllegalArgumentException.class, () -> new RewardModelScorer(rm, offset, Double.NaN));
    }
  }

  @Test
  void ppoPtxMixesTheSftLossOnDemonstrationsIntoEveryStep() {
    Engine.getInstance().setRandomSeed(6);
    GptConfig config = TinyTasks.tinyConfig(32);
    SftTrainer sft = new SftTrainer(new SftConfig());
    List<dev.flywheel.model.SftExample> demos =
        TinyTasks.letterDemos(16, 1).stream().map(d -> sft.example(d, 32)).toList();
    try (PolicyModel policy = PolicyModel.create(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager);
        ValueModel value =
            ValueInitialisation.create(PpoConfig.ValueInit.POLICY, policy, null, 0, 1, manager)) {
      PpoConfig c = new PpoConfig();
      c.setRolloutBatchSize(8);
      c.setMiniBatchSize(4);
      c.setPpoEpochs(1);
      c.setMaxNewTokens(4);
      c.setPtxCoef(1f);
      c.setPtxBatchSize(4);
      PpoTrainer withPtx =
          new PpoTrainer(
              c,
              policy,
              reference,
              value,
              TinyTasks.shareOfA(),
              PpoTrainer.klController(c, 0.2),
              new ScoreNormalizer(),
              demos);
      IterationStats s = withPtx.iterate(TinyTasks.letterPrompts(8, 0), 1);
      // an untrained policy: the demonstrations' cross-entropy is about ln(262) = 5.6
      assertTrue(s.ptxLoss() > 3 && s.ptxLoss() < 8, "ptx loss " + s.ptxLoss());
      assertTrue(s.metrics().containsKey("ptx_loss"));
      c.setPtxCoef(0f);
      PpoTrainer plain =
          new PpoTrainer(
              c,
              policy,
              reference,
              value,
              TinyTasks.shareOfA(),
              PpoTrainer.klController(c, 0.2),
              new ScoreNormalizer(),
              demos);
      assertEquals(0.0, plain.iterate(TinyTasks.letterPrompts(8, 0), 2).ptxLoss(), 0.0);
    }
  }
}
