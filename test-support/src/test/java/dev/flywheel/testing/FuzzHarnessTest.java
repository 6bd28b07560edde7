package dev.flywheel.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The property harness itself: bounded tries, labelled outcomes, reproducible failures. */
class FuzzHarnessTest {

  @Test
  void runsTheGivenTriesAndCountsOutcomes() {
    Map<String, Integer> outcomes =
        Fuzz.check(
            "even or odd", 50, gen -> gen.between(0, 1000), n -> n % 2 == 0 ? "even" : "odd");
    assertEquals(Fuzz.tries(50), outcomes.values().stream().mapToLong(Integer::longValue).sum());
    assertTrue(outcomes.containsKey("even") && outcomes.containsKey("odd"), outcomes::toString);
  }

  @Test
  void aFailureNamesTheTryTheSeedAndTheInputAndKeepsTheCause() {
    AssertionError error =
        assertThrows(
            AssertionError.class,
            () ->
                Fuzz.check(
                    "no sevens",
                    2_000,
                    gen -> gen.between(0, 9),
                    n -> {
                      if (n == 7) {
                        throw new IllegalStateException("seven");
                      }
                      return null;
                    }));
    assertTrue(error.getMessage().startsWith("no sevens failed on try "), error.getMessage());
    assertTrue(error.getMessage().contains("-Dflywheel.fuzz.seed="), error.getMessage());
    assertTrue(error.getMessage().contains("input: 7"), error.getMessage());
    assertEquals("seven", error.getCause().getMessage());
  }

  @Test
  void theSameSeedDrawsTheSameInputs() {
    String previous = System.getProperty(Fuzz.SEED_PROPERTY);
    try {
      System.setProperty(Fuzz.SEED_PROPERTY, "42");
      List<String> first = draw();
      List<String> second = draw();
      System.setProperty(Fuzz.SEED_PROPERTY, "43");
      List<String> other = draw();
      assertEquals(first, second);
      assertNotEquals(first, other);
    } finally {
      if (previous == null) {
        System.clearProperty(Fuzz.SEED_PROPERTY);
      } else {
        System.setProperty(Fuzz.SEED_PROPERTY, previous);
      }
    }
  }

  private static List<String> draw() {
    List<String> drawn = new ArrayList<>();
    Fuzz.check(
        "draw",
        20,
        gen -> gen.text(30),
        text -> {
          drawn.add(text);
          return null;
        });
    return drawn;
  }
}
