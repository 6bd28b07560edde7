package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** A schedule with updates already taken goes on exactly where the whole one is. */
class LearningRateScheduleTest {

  @Test
  void afterTakesUpTheScheduleWhereItWasWarmUpIncluded() {
    LearningRateSchedule whole = LearningRateSchedule.cosine(1e-3f, 20, 200);
    for (long taken : new long[] {0, 5, 20, 120, 199, 250}) {
      LearningRateSchedule rest = whole.after(taken);
      for (long update = 1; update <= 60; update++) {
        assertEquals(whole.at(taken + update), rest.at(update), "after " + taken + ", " + update);
      }
    }
    assertEquals(whole.at(131), whole.after(100).after(30).at(1), "offsets add up");
    assertEquals(1e-4f, whole.after(200).at(1), 1e-9, "past the end: the floor");
    assertThrows(
        IllegalArgumentException.class,
        () -> new LearningRateSchedule(1e-3f, 0, 10, 0.1f, LearningRateSchedule.Decay.COSINE, -1));
  }
}
