package dev.flywheel.rollout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutFinishReason;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.RolloutSample;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.trainerkit.KafkaSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Rollout workers on the real broker and registry, with real (tiny) models saved as artifacts: a
 * request is answered with the samples the trainer's own rollout code gives for the same weights
 * and seed; a worker that dies before committing leaves its request to the next member of the
 * group; an expired request is skipped and unanswerable ones are dead-lettered with the reason.
 */
@ExtendWith(FlywheelInfraExtension.class)
class RolloutWorkerTest {

  private static RolloutFixtures fx;

  @BeforeAll
  static void setUp(FlywheelInfra infra) throws IOException {
    fx = new RolloutFixtures(infra);
  }

  @AfterAll
  static void tearDown() {
    fx.close();
  }

  @Test
  void answersARequestWithTheSamplesAndScoresOfTheTrainersOwnRolloutCode() throws Exception {
    RolloutFixtures.Topics topics = fx.topics(3);
    RolloutRequest request = fx.request("r-1", 2, Instant.now().plusSeconds(120));
    RunningWorker worker = start(topics, "worker-a", null);
    try {
      fx.publish(topics.requests(), 0, request);
      RolloutBatch batch = fx.awaitBatch(topics.batches(), b -> b.getRequestId().equals("r-1"));
      assertEquals("worker-a", batch.getWorkerId());
      assertEquals("learner-1", batch.getLearnerId());
      assertEquals(3, batch.getLearnerStep());
      assertEquals(fx.policySha, batch.getPolicyArtifactSha256(), "the snapshot actually loaded");
      assertEquals(7L, batch.getRewardModelVersion());
      List<int[]> prompts = RolloutFixtures.prompts(request);
      assertEquals(prompts.size() * 2, batch.getSamples().size(), "K samples per prompt");

      GroupRollout local =
          GroupRollout.sample(
              fx.policy, new RewardModelScorer(fx.reward, 0.25, 2.0), prompts, 2, 16, 42L);
      long tokens = 0;
      for (int row = 0; row < batch.getSamples().size(); row++) {
        RolloutSample s = batch.getSamples().get(row);
        assertEquals(row / 2, s.getPromptIndex(), "rows g*K .. g*K+K-1 belong to prompt g");
        int[] got = s.getTokens().stream().mapToInt(Integer::intValue).toArray();
        assertArrayEquals(local.generations().get(row).tokens(), got, "row " + row + " tokens");
        assertEquals(got.length, s.getLogProbs().size(), "one behaviour log-prob per token");
        for (int i = 0; i < got.length; i++) {
          assertEquals(local.generations().get(row).logProbs()[i], s.getLogProbs().get(i), 1e-5f);
          assertTrue(s.getLogProbs().get(i) <= 0f, "a log-probability");
        }
        assertEquals(local.scores()[row], s.getScore(), 1e-5f, "row " + row + " score");
        boolean eos = got.length > 0 && got[got.length - 1] == ByteTokenizer.EOS;
        assertEquals(
            eos ? RolloutFinishReason.STOP : RolloutFinishReason.LENGTH, s.getFinishReason());
        tokens += got.length;
      }
      assertEquals(tokens, batch.getGeneratedTokens());
      assertEquals(1, worker.meters.answeredCount());
    } finally {
      worker.stop();
    }
  }

  @Test
  void aRequestWhoseWorkerDiesBeforeCommittingIsAnsweredByTheNextMemberOfTheGroup()
      throws Exception {
    RolloutFixtures.Topics topics = fx.topics(2);
    CountDownLatch started = new CountDownLatch(1);
    RunningWorker dying =
        start(
            topics,
            "worker-dies",
            r -> {
              started.countDown();
              throw new IllegalStateException("killed mid-request (simulated crash)");
            });
    fx.publish(topics.requests(), 1, fx.request("r-2", 1, Instant.now().plusSeconds(120)));
    assertTrue(started.await(60, TimeUnit.SECONDS), "the first worker took the request");
    dying.thread.join(Duration.ofSeconds(60).toMillis());
    assertTrue(!dying.thread.isAlive() && dying.failure != null, "the first worker died");
    assertEquals(0, dying.meters.answeredCount());

    RunningWorker next = start(topics, "worker-b", null);
    try {
      RolloutBatch batch = fx.awaitBatch(topics.batches(), b -> b.getRequestId().equals("r-2"));
      assertEquals("worker-b", batch.getWorkerId(), "answered by the member that took over");
      assertEquals(1, next.meters.answeredCount());
    } finally {
      next.stop();
    }
  }

  @Test
  void anExpiredRequestIsSkippedAndUnanswerableOnesAreDeadLetteredWithTheReason() throws Exception {
    RolloutFixtures.Topics topics = fx.topics(1);
    RolloutRequest expired = fx.request("r-expired", 1, Instant.now().minusSeconds(1));
    RolloutRequest wrongSha = fx.request("r-sha", 1, Instant.now().plusSeconds(120));
    wrongSha.setPolicyArtifactSha256("00".repeat(32));
    RolloutRequest outside = fx.request("r-outside", 1, Instant.now().plusSeconds(120));
    outside.setRewardArtifactUri("file:///etc/");
    RolloutRequest noSamples = fx.request("r-k0", 0, Instant.now().plusSeconds(120));
    RolloutRequest valid = fx.request("r-ok", 1, Instant.now().plusSeconds(120));
    for (RolloutRequest r : List.of(expired, wrongSha, outside, noSamples, valid)) {
      fx.publish(topics.requests(), 0, r);
    }
    RunningWorker worker = start(topics, "worker-c", null);
    try {
      fx.awaitBatch(topics.batches(), b -> b.getRequestId().equals("r-ok"));
      // one partition, handled in order: everything before r-ok has been handled by now
      List<RolloutBatch> batches = fx.readAll(topics.batches(), RolloutBatch.class);
      assertEquals(
          List.of("r-ok"),
          batches.stream().map(RolloutBatch::getRequestId).toList(),
          "only the valid request is answered");
      assertEquals(1, worker.meters.expiredCount());
      assertEquals(3, worker.meters.deadLetteredCount());
      List<DeadLetter> letters = fx.readAll(topics.deadLetters(), DeadLetter.class);
      assertEquals(3, letters.size(), "one letter per unanswerable request: " + letters);
      assertEquals("MODEL_UNAVAILABLE", letters.get(0).getErrorType());
      assertTrue(letters.get(0).getReason().contains("SHA"), letters.get(0).getReason());
      assertEquals("MODEL_UNAVAILABLE", letters.get(1).getErrorType());
      assertTrue(
          letters.get(1).getReason().contains("not below the artifact root"),
          letters.get(1).getReason());
      assertEquals("INVALID_REQUEST", letters.get(2).getErrorType());
      assertTrue(
          letters.get(2).getReason().startsWith("samplesPerPrompt"), letters.get(2).getReason());
      assertEquals(topics.requests(), letters.get(2).getSourceTopic());
    } finally {
      worker.stop();
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private static final class RunningWorker {
    final RolloutWorker worker;
    final RolloutWorkerMeters meters;
    final Thread thread;
    volatile Throwable failure;

    RunningWorker(RolloutWorker worker, RolloutWorkerMeters meters) {
      this.worker = worker;
      this.meters = meters;
      this.thread =
          new Thread(
              () -> {
                try {
                  worker.run();
                } catch (Throwable e) {
                  failure = e;
                }
              });
    }

    void stop() throws InterruptedException {
      worker.stop();
      thread.join(Duration.ofSeconds(60).toMillis());
    }
  }

  /** A worker on its own thread; {@code answerer} null: the real one on the test's models. */
  private static RunningWorker start(
      RolloutFixtures.Topics topics, String workerId, RolloutWorker.Answerer answerer)
      throws IOException {
    RolloutWorkerConfig config = new RolloutWorkerConfig();
    config.setRequestsTopic(topics.requests());
    config.setBatchesTopic(topics.batches());
    config.setDeadLettersTopic(topics.deadLetters());
    config.setGroupId(topics.group());
    config.setWorkerId(workerId);
    config.setPollTimeout(Duration.ofMillis(200));
    RolloutWorkerMeters meters = new RolloutWorkerMeters(new SimpleMeterRegistry());
    RolloutWorker.Answerer a =
        answerer != null
            ? answerer
            : new RolloutAnswerer(new ModelCache(fx.store, fx.manager, 4), workerId);
    RunningWorker running =
        new RunningWorker(
            new RolloutWorker(
                new KafkaSettings(fx.infra.bootstrapServers(), fx.infra.registryUrl()),
                config,
                a,
                meters),
            meters);
    running.thread.start();
    return running;
  }
}
