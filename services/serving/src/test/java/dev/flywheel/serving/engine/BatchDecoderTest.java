package dev.flywheel.serving.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Generation;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.InferenceMode;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The serving decoder against the model module's {@link Sampler}: same tokens for the same prompt,
 * settings and seed, whatever the row is batched with; per-row settings; cancellation.
 */
class BatchDecoderTest {

  static NDManager manager;
  static PolicyModel policy;
  static InferenceMode inference;
  static final ChatTemplate CHAT = new ChatTemplate();

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(3);
    manager = NDManager.newBaseManager(Device.cpu());
    policy = PolicyModel.create(GptConfig.tiny(), manager);
    inference = InferenceMode.enter();
  }

  @AfterAll
  static void tearDown() {
    inference.close();
    policy.close();
    manager.close();
  }

  static int[] prompt(String user) {
    return CHAT.encodeForGeneration(List.of(ChatTurn.user(user)));
  }

  /** What Sampler produces for one prompt alone, as text (EOS dropped) and token count. */
  static RowResult reference(int[] prompt, float temperature, float topP, int maxNew, long seed) {
    SamplingConfig config =
        new SamplingConfig(temperature, Math.max(topP, 1e-6f), 0, maxNew, true, 0, true);
    Generation g = new Sampler(policy).generate(List.of(prompt), config, new long[] {seed}).get(0);
    return new RowResult(
        ByteTokenizer.INSTANCE.decode(g.tokens()),
        g.tokens().length,
        g.finishReason() == Generation.FinishReason.STOP
            ? RowResult.FinishReason.STOP
            : RowResult.FinishReason.LENGTH);
  }

  static List<RowResult> decodeOne(BatchDecoder decoder, RowSpec... rows) {
    DecodeJob job = new DecodeJob(List.of(rows), JobListener.NONE);
    decoder.decode(List.of(job));
    return job.result().join();
  }

  @Test
  void rowsMatchTheReferenceSamplerWhateverTheyAreBatchedWith() {
    BatchDecoder decoder = new BatchDecoder(policy);
    int[] shortPrompt = prompt("Hi");
    int[] longPrompt = prompt("A considerably longer prompt");
    // different prompt lengths, temperatures, top-p, max tokens and seeds in one batch
    List<RowSpec> specs =
        List.of(
            new RowSpec(shortPrompt, 1.0f, 1f, 0, 12, 11L, List.of()),
            new RowSpec(longPrompt, 0.7f, 0.9f, 0, 8, 12L, List.of()),
            new RowSpec(shortPrompt, 0f, 1f, 0, 5, 13L, List.of()),
            new RowSpec(longPrompt, 1.3f, 1f, 0, 16, 14L, List.of()));
    List<DecodeJob> jobs = new ArrayList<>();
    jobs.add(new DecodeJob(specs.subList(0, 2), JobListener.NONE));
    jobs.add(new DecodeJob(specs.subList(2, 4), JobListener.NONE));
    decoder.decode(jobs);
    List<RowResult> batched = new ArrayList<>(jobs.get(0).result().join());
    batched.addAll(jobs.get(1).result().join());
    for (int i = 0; i < specs.size(); i++) {
      RowSpec s = specs.get(i);
      RowResult expected =
          reference(s.prompt(), s.temperature(), s.topP(), s.maxNewTokens(), s.seed());
      assertEquals(expected, batched.get(i), "row " + i);
      assertEquals(expected, decodeOne(decoder, s).get(0), "row " + i + " alone");
    }
    assertNotEquals(batched.get(0).text(), batched.get(3).text());
  }

  @Test
  void eachRowStopsAtItsOwnMaxTokens() {
    BatchDecoder decoder = new BatchDecoder(policy);
    List<RowResult> out =
        decodeOne(
            decoder,
            new RowSpec(prompt("a"), 1f, 1f, 0, 1, 1L, List.of()),
            new RowSpec(prompt("a"), 1f, 1f, 0, 20, 1L, List.of()));
    assertEquals(1, out.get(0).tokenCount());
    assertEquals(RowResult.FinishReason.LENGTH, out.get(0).finishReason());
    assertTrue(out.get(1).tokenCount() > 1);
    // same seed: the short row is a prefix of the long one
    assertTrue(
        out.get(1).text().startsWith(out.get(0).text().replace("\uFFFD", ""))
            || out.get(0).text().contains("\uFFFD"));
  }

  @Test
  void theContextLengthCapsGeneration() {
    BatchDecoder decoder = new BatchDecoder(policy);
    int[] p = prompt("x".repeat(50)); // 54 tokens of 64
    RowResult out = decodeOne(decoder, new RowSpec(p, 1f, 1f, 0, 100, 5L, List.of())).get(0);
    assertTrue(out.tokenCount() <= 64 - p.length, out.toString());
  }

  @Test
  void aBatchPastItsDeadlineEndsItsRowsWithLength() {
    // without a deadline this sampled row runs past its first token (asserted), up to 20
    RowSpec spec = new RowSpec(prompt("deadline"), 1f, 1f, 0, 20, 3L, List.of());
    RowResult free = decodeOne(new BatchDecoder(policy, Duration.ofMinutes(1)), spec).get(0);
    assertTrue(free.tokenCount() > 1, free.toString());
    BatchDecoder late = new BatchDecoder(policy, Duration.ZERO);
    DecodeJob job = new DecodeJob(List.of(spec, spec), JobListener.NONE);
    assertEquals(2, late.decode(List.of(job)), "both rows cut");
    for (RowResult r : job.result().join()) {
      assertEquals(1, r.tokenCount(), r.toString());
      assertEquals(RowResult.FinishReason.LENGTH, r.finishReason());
      assertTrue(free.text().startsWith(r.text()) || r.text().isEmpty(), r + " vs " + free);
    }
  }

  @Test
  void streamedTextAddsUpAndStopSequencesApply() {
    BatchDecoder decoder = new BatchDecoder(policy);
    RowSpec free = new RowSpec(prompt("Hello"), 1f, 1f, 0, 16, 99L, List.of());
    String full = decodeOne(decoder, free).get(0).text();
    assertTrue(full.length() >= 4, full);
    String stop = full.substring(3, 4);
    StringBuilder streamed = new StringBuilder();
    DecodeJob job =
        new DecodeJob(
            List.of(new RowSpec(free.prompt(), 1f, 1f, 0, 16, 99L, List.of(stop))),
            new JobListener() {
              @Override
              public void onText(int row, String delta) {
                streamed.append(delta);
              }
            });
    decoder.decode(List.of(job));
    RowResult stopped = job.result().join().get(0);
    assertEquals(full.substring(0, full.indexOf(stop)), stopped.text());
    assertEquals(stopped.text(), streamed.toString());
    assertEquals(RowResult.FinishReason.STOP, stopped.finishReason());
  }

  @Test
  void aCancelledJobIsDroppedAndTheOthersFinish() {
    BatchDecoder decoder = new BatchDecoder(policy);
    DecodeJob[] cancelMe = new DecodeJob[1];
    int[] texts = {0};
    cancelMe[0] =
        new DecodeJob(
            List.of(new RowSpec(prompt("a"), 1f, 1f, 0, 30, 1L, List.of())),
            new JobListener() {
              @Override
              public void onText(int row, String delta) {
                texts[0]++;
                cancelMe[0].cancel();
              }
            });
    DecodeJob other =
        new DecodeJob(
            List.of(new RowSpec(prompt("b"), 1f, 1f, 0, 10, 2L, List.of())), JobListener.NONE);
    decoder.decode(List.of(cancelMe[0], other));
    assertEquals(1, texts[0], "no text after cancellation");
    assertThrows(CancellationException.class, () -> cancelMe[0].result().join());
    assertEquals(reference(prompt("b"), 1f, 1f, 10, 2L), other.result().join().get(0));
  }
}
