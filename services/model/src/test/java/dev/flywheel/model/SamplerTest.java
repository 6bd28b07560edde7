package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SamplerTest {

  static NDManager manager;
  static PolicyModel policy;
  static Sampler sampler;
  static final ChatTemplate TEMPLATE = new ChatTemplate();
  static final List<int[]> PROMPTS =
      List.of(
          TEMPLATE.encodeForGeneration(List.of(ChatTurn.user("hi"))),
          TEMPLATE.encodeForGeneration(
              List.of(ChatTurn.system("be nice"), ChatTurn.user("what is 2+2?"))),
          new int[] {ByteTokenizer.BOS},
          TEMPLATE.encodeForGeneration(List.of(ChatTurn.user("a longer question, with commas"))));

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(3);
    manager = NDManager.newBaseManager();
    policy = PolicyModel.create(GptConfig.tiny(), manager);
    sampler = new Sampler(policy);
  }

  @AfterAll
  static void tearDown() {
    policy.close();
    manager.close();
  }

  static SamplingConfig sampling(boolean kv) {
    // no EOS stop so that every row runs the full length; a random tiny model rarely emits EOS
    // anyway
    return new SamplingConfig(1.0f, 0.95f, 50, 20, false, 1234L, kv);
  }

  @Test
  void kvCacheGivesTheSameTokensAsFullRecomputation() {
    for (SamplingConfig config :
        List.of(SamplingConfig.greedy(20).withStopOnEos(false), sampling(true))) {
      List<Generation> cached = sampler.generate(PROMPTS, config.withKvCache(true));
      List<Generation> recomputed = sampler.generate(PROMPTS, config.withKvCache(false));
      for (int r = 0; r < PROMPTS.size(); r++) {
        assertArrayEquals(
            recomputed.get(r).tokens(), cached.get(r).tokens(), "row " + r + " " + config);
        assertArrayEquals(recomputed.get(r).logProbs(), cached.get(r).logProbs(), 1e-4f);
        assertEquals(20, cached.get(r).tokens().length);
        assertEquals(Generation.FinishReason.LENGTH, cached.get(r).finishReason());
      }
    }
  }

  @Test
  void batchedGivesTheSameAsOneByOne() {
    for (SamplingConfig config :
        List.of(SamplingConfig.greedy(16).withStopOnEos(false), sampling(true))) {
      List<Generation> batched = sampler.generate(PROMPTS, config);
      for (int r = 0; r < PROMPTS.size(); r++) {
        Generation alone =
            sampler
                .generate(
                    List.of(PROMPTS.get(r)), config, new long[] {Sampler.rowSeed(config.seed(), r)})
                .get(0);
        assertArrayEquals(alone.tokens(), batched.get(r).tokens(), "row " + r + " " + config);
        assertArrayEquals(alone.logProbs(), batched.get(r).logProbs(), 1e-4f);
      }
    }
  }

  @Test
  void seededSamplingIsReproducibleAndSeedDependent() {
    List<Generation> a = sampler.generate(PROMPTS, sampling(true));
    List<Generation> b = sampler.generate(PROMPTS, sampling(true));
    List<Generation> c = sampler.generate(PROMPTS, sampling(true).withSeed(99));
    for (int r = 0; r < PROMPTS.size(); r++) {
      assertArrayEquals(a.get(r).tokens(), b.get(r).tokens());
    }
    assertNotEquals(tokensOf(a), tokensOf(c));
  }

  @Test
  void returnedLogProbsEqualAFullForwardPass() {
    List<Generation> generations = sampler.generate(PROMPTS, sampling(true).withTemperature(0.7f));
    try (InferenceSession s = InferenceSession.open(policy)) {
      for (int r = 0; r < PROMPTS.size(); r++) {
        int[] prompt = PROMPTS.get(r);
        int[] generated = generations.get(r).tokens();
        long[] sequence = new long[prompt.length + generated.length];
        for (int i = 0; i < sequence.length; i++) {
          sequence[i] = i < prompt.length ? prompt[i] : generated[i - prompt.length];
        }
        NDArray tokens = s.manager().create(sequence, new Shape(1, sequence.length));
        float[] all =
            SftLoss.nextTokenLogProbs(policy.logits(tokens, null, false), tokens).toFloatArray();
        float[] ofGenerated = java.util.Arrays.copyOfRange(all, prompt.length - 1, all.length);
        assertArrayEquals(ofGenerated, generations.get(r).logProbs(), 1e-4f, "row " + r);
      }
    }
  }

  @Test
  void stopsOnEosAndReportsWhy() {
    // With all token embeddings zero every non-EOS logit is 0; EOS's row is then set to a multiple
    // of the model's hidden state at slot 0, so EOS scores h0 . h_t > 0 and wins greedily.
    try (PolicyModel eos = PolicyModel.create(GptConfig.tiny(), manager);
        InferenceSession s = InferenceSession.open(eos)) {
      NDArray embedding = eos.trunk().tokenEmbedding();
      embedding.muli(0);
      float[] h =
          eos.trunk()
              .forward(s.manager().create(new long[] {1}, new Shape(1, 1)), null, null, false)
              .toFloatArray();
      float[] table = embedding.toFloatArray();
      for (int i = 0; i < h.length; i++) {
        table[ByteTokenizer.EOS * h.length + i] = 10 * h[i];
      }
      embedding.set(table);
      List<Generation> out =
          new Sampler(eos).generate(PROMPTS.subList(0, 1), SamplingConfig.greedy(10));
      assertArrayEquals(new int[] {ByteTokenizer.EOS}, out.get(0).tokens());
      assertEquals(Generation.FinishReason.STOP, out.get(0).finishReason());
    }
    List<Generation> capped =
        sampler.generate(PROMPTS.subList(0, 1), SamplingConfig.greedy(3).withStopOnEos(false));
    assertEquals(3, capped.get(0).tokens().length);
    assertEquals(Generation.FinishReason.LENGTH, capped.get(0).finishReason());
  }

  @Test
  void rowsThatStopEarlyDoNotDisturbTheOthers() {
    SamplingConfig config = new SamplingConfig(1f, 1f, 0, 24, true, 5L, true);
    try (PolicyModel model = PolicyModel.create(GptConfig.tiny(), manager)) {
      Sampler eosSampler = new Sampler(model);
      // raise EOS's logit (its embedding row gets a multiple of the hidden state at slot 0) until
      // the batch mixes rows that stop early with rows that run to the length limit
      List<Generation> batched = null;
      for (float scale = 0.1f; scale < 10; scale *= 1.5f) {
        setEosRow(model, scale);
        batched = eosSampler.generate(PROMPTS, config);
        long stops =
            batched.stream().filter(g -> g.finishReason() == Generation.FinishReason.STOP).count();
        if (stops > 0 && stops < PROMPTS.size()) {
          break;
        }
      }
      List<Generation> recomputed = eosSampler.generate(PROMPTS, config.withKvCache(false));
      java.util.Set<Generation.FinishReason> reasons =
          java.util.EnumSet.noneOf(Generation.FinishReason.class);
      for (int r = 0; r < PROMPTS.size(); r++) {
        Generation alone =
            eosSampler
                .generate(
                    List.of(PROMPTS.get(r)), config, new long[] {Sampler.rowSeed(config.seed(), r)})
                .get(0);
        Generation g = batched.get(r);
        assertArrayEquals(alone.tokens(), g.tokens(), "row " + r);
        assertArrayEquals(recomputed.get(r).tokens(), g.tokens(), "row " + r);
        assertEquals(alone.finishReason(), g.finishReason());
        reasons.add(g.finishReason());
        boolean endsWithEos =
            g.tokens().length > 0 && g.tokens()[g.tokens().length - 1] == ByteTokenizer.EOS;
        assertEquals(g.finishReason() == Generation.FinishReason.STOP, endsWithEos);
      }
      assertEquals(
          java.util.EnumSet.allOf(Generation.FinishReason.class),
          reasons,
          "the batch should mix early stops with full-length rows: " + batched);
    }
  }

  private static void setEosRow(PolicyModel model, float scale) {
    try (InferenceSession s = InferenceSession.open(model)) {
      NDArray embedding = model.trunk().tokenEmbedding();
      float[] table = embedding.toFloatArray();
      int d = model.config().dModel();
      java.util.Arrays.fill(table, ByteTokenizer.EOS * d, (ByteTokenizer.EOS + 1) * d, 0f);
      embedding.set(table);
      float[] h =
          model
              .trunk()
              .forward(s.manager().create(new long[] {1}, new Shape(1, 1)), null, null, false)
              .toFloatArray();
      for (int i = 0; i < d; i++) {
        table[ByteTokenizer.EOS * d + i] = scale * h[i];
      }
      embedding.set(table);
    }
  }

  @Test
  void samplingRespectsTopKTopPAndGreedy() {
    float[] logits = {0f, 3f, 2.9f, 1f, -1f};
    SplittableRandom random = new SplittableRandom(1);
    SamplingConfig base = new SamplingConfig(1f, 1f, 0, 1, true, 0, true);
    assertEquals(1, Sampler.choose(logits, 0, 5, base.withTemperature(0), random));
    for (int i = 0; i < 200; i++) {
      assertEquals(1, Sampler.choose(logits, 0, 5, base.withTopK(1), random));
      int topTwo = Sampler.choose(logits, 0, 5, base.withTopK(2), random);
      assertTrue(topTwo == 1 || topTwo == 2);
      // p(1) = 0.47, p(2) = 0.43: the nucleus for top-p 0.5 is {1, 2}
      int nucleus = Sampler.choose(logits, 0, 5, base.withTopP(0.5f), random);
      assertTrue(nucleus == 1 || nucleus == 2);
    }
    int[] counts = new int[5];
    for (int i = 0; i < 20_000; i++) {
      counts[Sampler.choose(logits, 0, 5, base, random)]++;
    }
    double z = Math.exp(0) + Math.exp(3) + Math.exp(2.9) + Math.exp(1) + Math.exp(-1);
    assertEquals(Math.exp(1) / z, counts[3] / 20_000.0, 0.01, "temperature 1 samples the softmax");
  }

  @Test
  void rejectsPromptsThatDoNotFit() {
    int[] tooLong = new int[GptConfig.tiny().contextLength() + 1];
    assertThrows(
        IllegalArgumentException.class,
        () -> sampler.generate(List.of(tooLong), SamplingConfig.greedy(1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> sampler.generate(List.of(new int[0]), SamplingConfig.greedy(1)));
    int[] full = new int[GptConfig.tiny().contextLength()];
    assertEquals(
        0, sampler.generate(List.of(full), SamplingConfig.greedy(5)).get(0).tokens().length);
  }

  static List<List<Integer>> tokensOf(List<Generation> generations) {
    List<List<Integer>> out = new ArrayList<>();
    for (Generation g : generations) {
      List<Integer> row = new ArrayList<>();
      for (int t : g.tokens()) {
        row.add(t);
      }
      out.add(row);
    }
    return out;
  }
}
