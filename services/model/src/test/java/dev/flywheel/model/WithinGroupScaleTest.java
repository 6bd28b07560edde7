package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WithinGroupScaleTest {

  @Test
  void isTheSpreadWithinGroupsNotBetweenThem() {
    // two groups of 3: offsets 100 and -50 between prompts, ±1 around each group's mean within;
    // pooled over (3 - 1) + (3 - 1) degrees of freedom: std 1, whatever the offsets
    float[] scores = {99, 100, 101, -51, -50, -49};
    assertEquals(1.0, new WithinGroupScale().add(scores, 0, 3).add(scores, 3, 3).value(), 1e-9);
  }

  @Test
  void poolsByDegreesOfFreedom() {
    // squares 2 over 1 degree of freedom and 8 over 3: (2 + 8) / (1 + 3)
    WithinGroupScale scale =
        new WithinGroupScale().add(new float[] {0, 2}).add(new float[] {-2, 0, 0, 2});
    assertEquals(Math.sqrt(10.0 / 4), scale.value(), 1e-9);
  }

  @Test
  void singletonsAddNothing() {
    assertTrue(Double.isNaN(new WithinGroupScale().add(new float[] {5}).value()));
    assertEquals(
        Math.sqrt(2),
        new WithinGroupScale().add(new float[] {7}).add(new float[] {-1, 1}).value(),
        1e-9);
  }
}
