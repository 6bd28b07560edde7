package dev.flywheel.trainerkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The one failure policy: restart failed attempts with a doubling back-off, never a fenced one,
 * stop on request.
 */
class TrainerSupervisorTest {

  @Test
  void failedAttemptsAreRestartedWithADoublingBackoffUntilOneEndsFenced() throws Exception {
    List<Long> startedAt = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger made = new AtomicInteger();
    TrainerSupervisor s =
        new TrainerSupervisor(
                "test-trainer",
                () -> {
                  int n = made.incrementAndGet();
                  return new TrainerSupervisor.Attempt() {
                    @Override
                    public TrainerSupervisor.Ending run() {
                      startedAt.add(System.nanoTime());
                      return n < 4
                          ? TrainerSupervisor.Ending.FAILED
                          : TrainerSupervisor.Ending.FENCED;
                    }

                    @Override
                    public void stop() {}
                  };
                },
                Duration.ofMillis(100),
                Duration.ofMillis(250))
            .start();
    s.thread().join(10_000);
    assertTrue(!s.thread().isAlive(), "a fenced attempt ends the supervisor");
    assertEquals(4, made.get());
    assertEquals(3, s.restarts());
    assertEquals(TrainerSupervisor.Ending.FENCED, s.lastEnding());
    // back-offs 100, 200, then capped at 250 ms (a lower bound: waits never end early)
    long[] gaps = {100, 200, 250};
    for (int i = 0; i < gaps.length; i++) {
      long gapMs = (startedAt.get(i + 1) - startedAt.get(i)) / 1_000_000;
      assertTrue(gapMs >= gaps[i], "gap " + i + " was " + gapMs + " ms, expected >= " + gaps[i]);
    }
  }

  @Test
  void stopEndsARunningAttemptAndTheBackoffWithoutARestart() throws Exception {
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    TrainerSupervisor s =
        TrainerSupervisor.withDefaults(
                "test-trainer",
                () ->
                    new TrainerSupervisor.Attempt() {
                      @Override
                      public TrainerSupervisor.Ending run() {
                        running.countDown();
                        try {
                          stopped.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                        }
                        return TrainerSupervisor.Ending.STOPPED;
                      }

                      @Override
                      public void stop() {
                        stopped.countDown();
                      }
                    })
            .start();
    assertTrue(running.await(5, TimeUnit.SECONDS));
    assertTrue(s.stop(Duration.ofSeconds(5)), "stopped within the timeout");
    assertEquals(TrainerSupervisor.Ending.STOPPED, s.lastEnding());
    assertEquals(0, s.restarts());
  }
}
