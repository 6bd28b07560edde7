package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.testing.RegistryProxy;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The schema registry is down while the policy trainer catches up on its demonstrations: none is
 * dead-lettered or skipped; once it is back the first SFT version trains on all of them, and its
 * lineage starts at offset 0.
 */
@ExtendWith(FlywheelInfraExtension.class)
class RegistryOutageTest {

  @Test
  void demonstrationsReadDuringAnOutageAreReadAgainNotDeadLettered(FlywheelInfra infra)
      throws Exception {
    Harness h = new Harness(infra);
    h.produceDemonstrations(40, 5);
    try (RegistryProxy registry = new RegistryProxy(infra.registryUrl())) {
      registry.setAvailable(false);
      h.registryUrl = registry.url();
      PolicyTrainerStatus status = new PolicyTrainerStatus();
      PolicyTrainerLoop loop = h.loop(status, null);
      loop.start();
      try {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (status.registryOutages() < 3) {
          assertTrue(
              System.nanoTime() < deadline, "kept retrying through the outage: " + status.phase());
          Thread.sleep(100);
        }
        assertEquals(0, status.deadLetters(), "an outage is not bad input");
        assertEquals(
            PolicyTrainerStatus.Phase.CATCHING_UP,
            status.phase(),
            "not caught up while records are unread");

        registry.setAvailable(true);
        PolicyVersion sft =
            h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
        assertEquals(40.0, sft.getMetrics().get("demonstrations"), sft.getMetrics().toString());
        long covered = 0;
        for (OffsetRange r : sft.getTrainingData()) {
          assertEquals(0, r.getFromOffset(), "contiguous from the start: " + sft.getTrainingData());
          covered += r.getUntilOffset() - r.getFromOffset();
        }
        assertEquals(40, covered, sft.getTrainingData().toString());
        assertEquals(0, status.deadLetters());
      } finally {
        loop.stop(Duration.ofSeconds(30));
      }
    }
  }
}
