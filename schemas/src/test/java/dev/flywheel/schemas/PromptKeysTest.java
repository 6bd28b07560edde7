package dev.flywheel.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DataSplit;
import dev.flywheel.events.Role;
import dev.flywheel.events.Turn;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptKeysTest {

  private static List<Turn> user(String text) {
    return List.of(new Turn(Role.USER, text));
  }

  @Test
  void keyIsThirtyTwoHexDigitsAndStable() {
    String key = PromptKeys.promptKey(user("What is 2 + 2?"), "What is 2 + 2?");
    assertTrue(key.matches("[0-9a-f]{32}"), key);
    assertEquals(
        key, PromptKeys.promptKey(user("What is 2 + 2?"), "ignored when turns are present"));
  }

  @Test
  void normalisationIgnoresCaseWhitespaceAndUnicodeForm() {
    String key = PromptKeys.promptKey(user("Café  au lait?"), null);
    assertEquals(
        key,
        PromptKeys.promptKey(user("  cafe\u0301 AU\tlait? "), null)); // NFD e + combining acute
    assertEquals(
        key,
        PromptKeys.promptKey(List.of(), "café au lait?"),
        "no turns: the prompt as one user turn");
  }

  @Test
  void rolesAndTurnBoundariesMatter() {
    assertNotEquals(
        PromptKeys.promptKey(user("hello"), null),
        PromptKeys.promptKey(List.of(new Turn(Role.SYSTEM, "hello")), null));
    assertNotEquals(
        PromptKeys.promptKey(List.of(new Turn(Role.USER, "ab"), new Turn(Role.USER, "c")), null),
        PromptKeys.promptKey(List.of(new Turn(Role.USER, "a"), new Turn(Role.USER, "bc")), null));
  }

  @Test
  void evalFractionIsRoughlyHonouredOverManyPrompts() {
    for (double fraction : new double[] {0.05, 0.2, 0.5}) {
      int n = 20_000;
      int eval = 0;
      for (int i = 0; i < n; i++) {
        if (PromptKeys.split(PromptKeys.promptKey(user("prompt number " + i), null), fraction)
            == DataSplit.EVAL) {
          eval++;
        }
      }
      double observed = eval / (double) n;
      // 4 standard deviations of a binomial proportion
      double tolerance = 4 * Math.sqrt(fraction * (1 - fraction) / n);
      assertEquals(fraction, observed, tolerance, "eval fraction " + fraction);
    }
  }

  @Test
  void splitIsMonotoneInTheFraction() {
    // raising the eval fraction only moves prompts from TRAIN to EVAL, never back
    for (int i = 0; i < 2_000; i++) {
      String key = PromptKeys.promptKey(user("p" + i), null);
      if (PromptKeys.split(key, 0.1) == DataSplit.EVAL) {
        assertEquals(DataSplit.EVAL, PromptKeys.split(key, 0.3));
      }
    }
    assertEquals(DataSplit.TRAIN, PromptKeys.split(PromptKeys.promptKey(user("x"), null), 0.0));
    assertEquals(DataSplit.EVAL, PromptKeys.split(PromptKeys.promptKey(user("x"), null), 1.0));
  }
}
