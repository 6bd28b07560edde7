package dev.flywheel.pairs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgreementTest {

  @Test
  void countsTheFourOutcomesOverCommonResponsesOnly() {
    Map<String, Integer> a = Map.of("x", 0, "y", 1, "z", 2, "only-a", 3);
    Map<String, Integer> b = Map.of("x", 1, "y", 0, "z", 1, "only-b", 0);
    // xy: a x>y, b y>x -> disagree; xz: a x>z, b tie -> mismatch; yz: a y>z, b y>z -> agree
    assertEquals(new Agreement.Tally(1, 1, 0, 1), Agreement.compare(a, b));
    assertEquals(Agreement.compare(a, b), Agreement.compare(b, a), "symmetric");
  }

  @Test
  void bothTiedIsAnAgreementOnlyInTheRateWithTies() {
    Agreement.Tally t = Agreement.compare(Map.of("x", 0, "y", 0), Map.of("x", 1, "y", 1));
    assertEquals(new Agreement.Tally(0, 0, 1, 0), t);
    assertTrue(Double.isNaN(t.agreementRate()), "no strict pair: no ceiling figure");
    assertEquals(1.0, t.agreementRateWithTies());
  }

  @Test
  void anAnnotatorIsNotComparedWithThemself() {
    Agreement.Judgement first = new Agreement.Judgement("r1", "ann", Map.of("x", 0, "y", 1));
    Agreement.Judgement other = new Agreement.Judgement("r2", "bob", Map.of("x", 1, "y", 0));
    Agreement.Judgement again = new Agreement.Judgement("r3", "ann", Map.of("x", 1, "y", 0));
    assertEquals(
        new Agreement.Tally(1, 0, 0, 0),
        Agreement.compareWithEarlier(again, List.of(first, other)));
  }
}
