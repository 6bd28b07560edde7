package dev.flywheel.trainerkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TrainingProgressTest {

  @Test
  void logsAtMostOncePerIntervalWithRateAndEta() {
    AtomicLong now = new AtomicLong(0);
    List<String> lines = new ArrayList<>();
    TrainingProgress p =
        new TrainingProgress("reward", 3, 0, 100, Duration.ofSeconds(1), lines::add, now::get);
    Map<String, Double> extra = new LinkedHashMap<>();
    extra.put("accuracy", 0.71);
    now.set(100_000_000L); // 0.1 s
    String first = p.step(1, 0.69314, extra);
    assertEquals(
        "reward round 3/∞ step 1/100 (1%) loss 0.6931 accuracy 0.7100 | 10.0 steps/s, ETA 9s",
        first);
    now.set(500_000_000L);
    assertNull(p.step(5, 0.6, extra), "within the interval: no line");
    now.set(2_000_000_000L); // 2 s, 20 steps
    String line = p.step(20, 0.5, Map.of());
    assertTrue(
        line.contains("step 20/100 (20%)")
            && line.contains("10.0 steps/s")
            && line.endsWith("ETA 8s"),
        line);
    assertEquals(Duration.ofSeconds(8), p.eta());
    now.set(2_100_000_000L);
    assertTrue(p.step(100, 0.4, Map.of()) != null, "the last step is always logged");
    assertEquals(3, lines.size());
  }

  @Test
  void openEndedWithoutTotals() {
    AtomicLong now = new AtomicLong(0);
    List<String> lines = new ArrayList<>();
    TrainingProgress p = new TrainingProgress("ppo", 7, 10, 0, Duration.ZERO, lines::add, now::get);
    now.set(1_000_000_000L);
    assertEquals("ppo round 7/10 step 4 loss 1.0000 | 4.0 steps/s", p.step(4, 1.0, null));
    assertNull(p.eta());
    assertEquals("1m05s", TrainingProgress.human(Duration.ofSeconds(65)));
    assertEquals("2h01m", TrainingProgress.human(Duration.ofSeconds(7260)));
  }
}
