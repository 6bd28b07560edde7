package dev.flywheel.reward;

import dev.flywheel.trainerkit.KafkaSettings;

/** A {@link RewardTrainer} on its own thread, in the test JVM (no Micronaut). */
public final class RunningTrainer implements AutoCloseable {

  public final RewardTrainer trainer;
  private final Thread thread;

  public RunningTrainer(RewardTrainerConfig config, KafkaSettings kafka) {
    trainer = new RewardTrainer(config, kafka);
    thread = new Thread(trainer, "reward-trainer-under-test");
    thread.start();
  }

  public String describe() {
    RewardTrainerStats s = trainer.stats();
    return "trainer "
        + s.state()
        + " pending "
        + s.groupsPending()
        + " eval "
        + s.evalGroups()
        + (s.lastError() == null ? "" : " error " + s.lastError());
  }

  @Override
  public void close() throws InterruptedException {
    trainer.stop();
    thread.join(30_000);
  }
}
