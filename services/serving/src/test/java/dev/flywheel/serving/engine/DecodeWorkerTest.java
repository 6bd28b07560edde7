package dev.flywheel.serving.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.PolicyModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Dynamic batching, the bounded queue and draining shutdown. */
class DecodeWorkerTest {

  static NDManager manager;
  static PolicyModel policy;

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(4);
    manager = NDManager.newBaseManager(Device.cpu());
    policy = PolicyModel.create(GptConfig.tiny(), manager);
  }

  @AfterAll
  static void tearDown() {
    policy.close();
    manager.close();
  }

  record Batch(int requests, int rows) {}

  static final class Recorder implements BatchObserver {
    final List<Batch> batches = new CopyOnWriteArrayList<>();

    /**
     * The batches, once {@code count} have been reported (a job completes just before its batch
     * is). The callers have awaited every job they submitted, and a batch only exists for queued
     * rows, so when the reported batches hold all of those rows no further batch can follow:
     * comparing the whole list is exact.
     */
    List<Batch> await(int count) throws InterruptedException {
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (batches.size() < count && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      return List.copyOf(batches);
    }

    @Override
    public void batchDecoded(String model, int requests, int rows, long tokens, long nanos) {
      batches.add(new Batch(requests, rows));
    }
  }

  static DecodeJob job(String user, int n, int maxNew) {
    int[] prompt = new ChatTemplate().encodeForGeneration(List.of(ChatTurn.user(user)));
    List<RowSpec> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(new RowSpec(prompt, 1f, 1f, 0, maxNew, i, List.of()));
    }
    return new DecodeJob(rows, JobListener.NONE);
  }

  @Test
  void requestsArrivingWithinTheWindowDecodeTogether() throws Exception {
    Recorder recorder = new Recorder();
    DecodeWorker worker =
        new DecodeWorker(
                "t",
                policy,
                new DecodeWorker.Settings(Duration.ofMillis(1000), 32, 64, true),
                recorder)
            .start();
    worker.ready().get(30, TimeUnit.SECONDS);
    recorder.batches.clear();
    List<DecodeJob> jobs = List.of(job("a", 1, 4), job("bb", 3, 6), job("ccc", 2, 5));
    for (DecodeJob j : jobs) {
      assertEquals(DecodeWorker.Admission.ACCEPTED, worker.submit(j));
    }
    for (DecodeJob j : jobs) {
      j.result().get(30, TimeUnit.SECONDS);
    }
    assertEquals(List.of(new Batch(3, 6)), recorder.await(1), "one batch of 3 requests / 6 rows");
    worker.shutdown().get(10, TimeUnit.SECONDS);
  }

  @Test
  void batchesAreBoundedInRowsAndByTheContext() throws Exception {
    Recorder recorder = new Recorder();
    DecodeWorker worker =
        new DecodeWorker(
                "t",
                policy,
                new DecodeWorker.Settings(Duration.ofMillis(500), 4, 64, false),
                recorder)
            .start();
    worker.ready().get(30, TimeUnit.SECONDS);
    List<DecodeJob> jobs = List.of(job("a", 3, 4), job("b", 2, 4), job("c", 1, 4));
    jobs.forEach(worker::submit);
    for (DecodeJob j : jobs) {
      j.result().get(30, TimeUnit.SECONDS);
    }
    // 3 + 2 > 4: the 2-row job waits; the 1-row job joins the first batch; the 2-row job opens the
    // next
    assertEquals(List.of(new Batch(2, 4), new Batch(1, 2)), recorder.await(2));

    recorder.batches.clear();
    // a long prompt leaves no room for the other job's 40 tokens: they decode in separate batches
    String longUser = "y".repeat(40);
    List<DecodeJob> tight = List.of(job("short", 1, 40), job(longUser, 1, 10));
    tight.forEach(worker::submit);
    for (DecodeJob j : tight) {
      j.result().get(30, TimeUnit.SECONDS);
    }
    assertEquals(List.of(new Batch(1, 1), new Batch(1, 1)), recorder.await(2));
    worker.shutdown().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aFullQueueRefusesAndShutdownDrains() throws Exception {
    DecodeWorker worker =
        new DecodeWorker(
                "t",
                policy,
                new DecodeWorker.Settings(Duration.ofSeconds(2), 8, 3, false),
                BatchObserver.NONE)
            .start();
    worker.ready().get(30, TimeUnit.SECONDS);
    DecodeJob a = job("a", 2, 30);
    DecodeJob b = job("b", 1, 30);
    assertEquals(DecodeWorker.Admission.ACCEPTED, worker.submit(a));
    assertEquals(DecodeWorker.Admission.ACCEPTED, worker.submit(b));
    // both wait in the open batch (2 s window): 3 rows pending, the limit
    assertEquals(
        DecodeWorker.Admission.QUEUE_FULL, worker.submit(job("c", 1, 30)), "3 rows queued already");
    assertEquals(3, worker.queuedRows());
    var terminated = worker.shutdown();
    assertEquals(DecodeWorker.Admission.CLOSED, worker.submit(job("d", 1, 1)));
    terminated.get(30, TimeUnit.SECONDS);
    assertTrue(
        a.result().isDone() && !a.result().isCompletedExceptionally(), "queued jobs still finish");
    assertTrue(b.result().isDone() && !b.result().isCompletedExceptionally());
  }
}
