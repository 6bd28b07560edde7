package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** End-to-end learning on tiny problems: the model, losses and Learner work together. */
class TrainingTest {

  static NDManager manager;
  static final ChatTemplate TEMPLATE = new ChatTemplate();

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void tinyPolicyOverfitsASmallSftCorpus() {
    Engine.getInstance().setRandomSeed(1);
    List<SftExample> corpus = new ArrayList<>();
    String[][] pairs = {
      {"2+2?", "4"},
      {"capital of France?", "Paris"},
      {"say hi", "hi there"},
      {"color of sky?", "blue"},
      {"3*3?", "9"},
      {"opposite of up?", "down"},
      {"first letter?", "a"},
      {"water formula?", "H2O"},
    };
    for (String[] p : pairs) {
      corpus.add(TEMPLATE.sftExample(List.of(ChatTurn.user(p[0])), p[1]));
    }
    List<int[]> tokens = corpus.stream().map(SftExample::tokens).toList();
    List<int[]> lossMasks = corpus.stream().map(SftExample::lossMask).toList();
    int length = tokens.stream().mapToInt(t -> t.length).max().orElseThrow();

    try (PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager)) {
      int steps = 250;
      Learner learner =
          new Learner(OptimizerConfig.adamW(LearningRateSchedule.cosine(3e-3f, 20, steps)), policy);
      Learner.StepResult last = null;
      for (int step = 0; step < steps; step++) {
        last =
            learner.step(
                (sm, micro) -> {
                  TokenBatch batch = TokenBatch.of(sm, tokens, TokenBatch.Side.RIGHT, length);
                  NDArray lossMask =
                      TokenBatch.pad(sm, lossMasks, TokenBatch.Side.RIGHT, length, 0);
                  return SftLoss.loss(
                      policy.logits(batch.tokens(), batch.mask(), true), batch.tokens(), lossMask);
                });
      }
      System.out.printf("SFT overfit: loss %.4f after %d steps%n", last.loss(), steps);
      assertTrue(last.loss() < 0.05f, "SFT loss after " + steps + " steps: " + last.loss());
      assertEquals(steps, learner.steps());

      // the memorised answers come back under greedy decoding, ending with EOS
      List<int[]> prompts = corpus.stream().map(SftExample::promptTokens).toList();
      List<Generation> answers = new Sampler(policy).generate(prompts, SamplingConfig.greedy(12));
      for (int i = 0; i < corpus.size(); i++) {
        assertArrayEquals(corpus.get(i).responseTokens(), answers.get(i).tokens(), pairs[i][0]);
        assertEquals(Generation.FinishReason.STOP, answers.get(i).finishReason());
      }
    }
  }

  @Test
  void tinyRewardModelLearnsASyntheticPreference() {
    Engine.getInstance().setRandomSeed(2);
    Random random = new Random(2);
    // responses are 6-10 letters from {a, b, c, d}; the labeler prefers more 'a's. Each prompt gets
    // K = 4 responses with distinct 'a' counts, ranked best first: C(4,2) = 6 pairs per prompt.
    List<List<int[]>> train = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      train.add(rankedGroup(random));
    }
    List<List<int[]>> heldOut = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      heldOut.add(rankedGroup(random));
    }
    try (RewardModel reward = RewardModel.create(GptConfig.tiny().withContextLength(32), manager)) {
      int steps = 200;
      int groupsPerBatch = 8;
      Learner learner =
          new Learner(OptimizerConfig.adamW(LearningRateSchedule.cosine(2e-3f, 20, steps)), reward);
      for (int step = 0; step < steps; step++) {
        int first = (step * groupsPerBatch) % train.size();
        List<List<int[]>> groups = train.subList(first, first + groupsPerBatch);
        learner.step(
            (sm, micro) -> {
              List<int[]> sequences = new ArrayList<>();
              List<List<PairwiseRewardLoss.Comparison>> comparisons = new ArrayList<>();
              for (List<int[]> group : groups) {
                int offset = sequences.size();
                sequences.addAll(group);
                comparisons.add(
                    PairwiseRewardLoss.fromRanking(offset, offset + 1, offset + 2, offset + 3));
              }
              TokenBatch batch = TokenBatch.of(sm, sequences, TokenBatch.Side.RIGHT);
              return PairwiseRewardLoss.compute(
                      reward.scores(batch.tokens(), batch.mask(), true), comparisons)
                  .loss();
            });
      }
      int correct = 0;
      int total = 0;
      for (List<int[]> group : heldOut) {
        float[] scores = reward.score(group);
        for (int a = 0; a < scores.length; a++) {
          for (int b = a + 1; b < scores.length; b++) {
            correct += scores[a] > scores[b] ? 1 : 0;
            total++;
          }
        }
      }
      double accuracy = (double) correct / total;
      System.out.printf("reward model: held-out pairwise accuracy %.3f%n", accuracy);
      assertTrue(accuracy > 0.9, "held-out pairwise accuracy " + accuracy);
    }
  }

  /** Four chat-formatted responses to one prompt with distinct counts of 'a', most 'a's first. */
  static List<int[]> rankedGroup(Random random) {
    String prompt = "letters " + random.nextInt(100);
    List<Integer> counts = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6));
    java.util.Collections.shuffle(counts, random);
    List<Integer> chosen = new ArrayList<>(counts.subList(0, 4));
    chosen.sort(java.util.Comparator.reverseOrder());
    List<int[]> group = new ArrayList<>();
    for (int count : chosen) {
      // lengths differ, so batches are padded and the score must be read at each row's own end
      char[] letters = new char[6 + random.nextInt(5)];
      for (int i = 0; i < letters.length; i++) {
        letters[i] = i < count ? 'a' : (char) ('b' + random.nextInt(3));
      }
      for (int i = letters.length - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        char t = letters[i];
        letters[i] = letters[j];
        letters[j] = t;
      }
      group.add(
          TEMPLATE.encode(List.of(ChatTurn.user(prompt), ChatTurn.assistant(new String(letters)))));
    }
    return group;
  }

  @Test
  void learnerSkipsNonFiniteGradientsAndLeavesWeightsAlone() {
    try (PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager)) {
      Learner learner =
          new Learner(OptimizerConfig.adamW(LearningRateSchedule.constant(1e-3f, 0)), policy);
      float[] before = policy.trunk().tokenEmbedding().toFloatArray();
      Learner.StepResult result =
          learner.step(
              (sm, micro) -> {
                TokenBatch batch =
                    TokenBatch.of(sm, List.of(new int[] {1, 2, 3}), TokenBatch.Side.RIGHT);
                return policy.logits(batch.tokens(), batch.mask(), true).sum().mul(Float.NaN);
              });
      assertTrue(result.skipped());
      assertEquals(0, learner.steps());
      assertArrayEquals(before, policy.trunk().tokenEmbedding().toFloatArray());

      // gradient accumulation: two micro-batches, each sees its own index
      Learner accumulating =
          new Learner(
              OptimizerConfig.adamW(LearningRateSchedule.constant(1e-3f, 0)).withMicroBatches(2),
              policy);
      List<Integer> seen = new ArrayList<>();
      Learner.StepResult step =
          accumulating.step(
              (sm, micro) -> {
                seen.add(micro);
                TokenBatch batch =
                    TokenBatch.of(sm, List.of(new int[] {1, 2, 3 + micro}), TokenBatch.Side.RIGHT);
                return SftLoss.loss(
                    policy.logits(batch.tokens(), batch.mask(), true),
                    batch.tokens(),
                    batch.mask());
              });
      assertEquals(List.of(0, 1), seen);
      assertTrue(!step.skipped() && step.gradNorm() > 0 && Float.isFinite(step.loss()));
    }
  }
}
