package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import io.micronaut.context.ApplicationContext;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthResult;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

@ExtendWith(FlywheelInfraExtension.class)
class RewardTrainerServiceTest {

  /**
   * The input topic does not exist yet: the trainer loop fails, health is DOWN, and the service
   * restarts the loop with back-off; once the topic exists the next attempt comes up and health
   * turns UP.
   */
  @Test
  void restartsTheLoopAfterAFailureUntilItComesUp(FlywheelInfra infra) throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    String missing = infra.uniqueName("not-yet");
    Map<String, Object> props = h.properties();
    props.put("flywheel.reward-trainer.comparisons-topic", missing);
    try (ApplicationContext ctx = ApplicationContext.run(props)) {
      RewardTrainerService service = ctx.getBean(RewardTrainerService.class);
      RewardTrainerHealthIndicator health = ctx.getBean(RewardTrainerHealthIndicator.class);
      await(() -> service.stats().restarts() >= 1, 30_000);
      assertEquals(HealthStatus.DOWN, status(health));
      assertTrue(service.stats().lastError().contains(missing), service.stats().lastError());
      infra.createTopic(missing, 2);
      await(() -> service.stats().state() == RewardTrainerStats.State.WAITING, 60_000);
      assertEquals(HealthStatus.UP, status(health));
    }
  }

  private static HealthStatus status(RewardTrainerHealthIndicator health) {
    CompletableFuture<HealthResult> result = new CompletableFuture<>();
    health
        .getResult()
        .subscribe(
            new Subscriber<>() {
              @Override
              public void onSubscribe(Subscription s) {
                s.request(1);
              }

              @Override
              public void onNext(HealthResult r) {
                result.complete(r);
              }

              @Override
              public void onError(Throwable t) {
                result.completeExceptionally(t);
              }

              @Override
              public void onComplete() {}
            });
    return result.join().getStatus();
  }

  private static void await(BooleanSupplier condition, long millis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + millis;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("condition not met in " + millis + " ms");
      }
      Thread.sleep(100);
    }
  }
}
