package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A demonstration retried by its client reaches the topic twice with the same event id (the
 * gateway's idempotency cache is per replica). SFT must count it once.
 */
@ExtendWith(FlywheelInfraExtension.class)
class DemonstrationDedupTest {

  @Test
  void aRedeliveredDemonstrationTrainsOnce(FlywheelInfra infra) throws Exception {
    Harness h = new Harness(infra);
    h.produceDemonstrations(30, 7, 2); // 60 records, 30 events
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    PolicyTrainerLoop loop = h.loop(status, null);
    loop.start();
    try {
      PolicyVersion sft =
          h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
      assertEquals(30.0, sft.getMetrics().get("demonstrations"), sft.getMetrics().toString());
      assertEquals(30, status.duplicateDemonstrations());
    } finally {
      loop.stop(Duration.ofSeconds(30));
    }
  }
}
