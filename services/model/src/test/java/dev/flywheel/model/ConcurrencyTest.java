package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One loaded model serving many request threads at once gives the same answers as one thread. */
class ConcurrencyTest {

  static final int THREADS = 6;
  static final int REQUESTS_PER_THREAD = 4;

  record Answer(List<Generation> generations, float[] scores) {}

  @Test
  void concurrentInferenceMatchesSequential() throws Exception {
    Engine.getInstance().setRandomSeed(9);
    ChatTemplate template = new ChatTemplate();
    try (NDManager manager = NDManager.newBaseManager();
        PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager);
        RewardModel reward = RewardModel.create(GptConfig.tiny(), manager)) {
      Sampler sampler = new Sampler(policy);
      List<List<int[]>> requests = new ArrayList<>();
      for (int i = 0; i < THREADS * REQUESTS_PER_THREAD; i++) {
        List<int[]> prompts = new ArrayList<>();
        for (int j = 0; j <= i % 3; j++) {
          prompts.add(
              template.encodeForGeneration(
                  List.of(ChatTurn.user("request " + i + "." + j + "?".repeat(j)))));
        }
        requests.add(prompts);
      }
      List<Callable<Answer>> work = new ArrayList<>();
      for (int i = 0; i < requests.size(); i++) {
        List<int[]> prompts = requests.get(i);
        SamplingConfig config = SamplingConfig.chat(12, i).withStopOnEos(false);
        work.add(
            () -> {
              List<Generation> generations = sampler.generate(prompts, config);
              List<int[]> full = new ArrayList<>();
              for (int r = 0; r < prompts.size(); r++) {
                int[] p = prompts.get(r);
                int[] g = generations.get(r).tokens();
                int[] sequence = java.util.Arrays.copyOf(p, p.length + g.length);
                System.arraycopy(g, 0, sequence, p.length, g.length);
                full.add(sequence);
              }
              return new Answer(generations, reward.score(full));
            });
      }

      List<Answer> sequential = new ArrayList<>();
      for (Callable<Answer> w : work) {
        sequential.add(w.call());
      }

      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Answer>> futures = new ArrayList<>();
        for (Callable<Answer> w : work) {
          futures.add(
              pool.submit(
                  () -> {
                    start.await();
                    Answer answer = w.call();
                    // the session restored this pool thread's grad mode (on by default in new
                    // threads)
                    assertEquals(true, JniUtils.isGradMode());
                    return answer;
                  }));
        }
        start.countDown();
        for (int i = 0; i < work.size(); i++) {
          Answer concurrent = futures.get(i).get();
          assertEquals(sequential.get(i).generations(), concurrent.generations(), "request " + i);
          assertArrayEquals(sequential.get(i).scores(), concurrent.scores(), 1e-5f, "request " + i);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
