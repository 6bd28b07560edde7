package dev.flywheel.serving.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextAssemblerTest {

  /** Pushes the UTF-8 bytes of {@code text}, returns the concatenated deltas (finish included). */
  static String run(TextAssembler a, String text) {
    StringBuilder out = new StringBuilder();
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      out.append(a.push(b & 0xFF));
      if (a.stopped()) {
        return out.append(a.finish()).toString();
      }
    }
    return out.append(a.finish()).toString();
  }

  @Test
  void noStopEmitsEverythingAndSplitsNoCharacter() {
    TextAssembler a = new TextAssembler(List.of());
    StringBuilder out = new StringBuilder();
    for (byte b : "héllo €".getBytes(StandardCharsets.UTF_8)) {
      String delta = a.push(b & 0xFF);
      assertFalse(delta.contains("\uFFFD"), "no partial character is emitted");
      out.append(delta);
    }
    out.append(a.finish());
    assertEquals("héllo €", out.toString());
    assertEquals("héllo €", a.text());
  }

  @Test
  void stopSequenceEndsTheTextBeforeIt() {
    TextAssembler a = new TextAssembler(List.of("END"));
    assertEquals("abc", run(a, "abcENDxyz"));
    assertTrue(a.stopped());
    assertEquals("abc", a.text());
  }

  @Test
  void aPossibleStopPrefixIsHeldBackUntilDecided() {
    TextAssembler a = new TextAssembler(List.of("\n\nUser:"));
    assertEquals("a", a.push('a'));
    assertEquals("", a.push('\n'));
    assertEquals("", a.push('\n'));
    assertEquals("", a.push('U'));
    assertEquals("\n\nUx", a.push('x')); // not the stop after all: released
    assertFalse(a.stopped());
  }

  @Test
  void earliestOfSeveralStopsWinsAndDeltasMatchText() {
    TextAssembler a = new TextAssembler(List.of("zz", "bc"));
    assertEquals("a", run(a, "abczz"));
    TextAssembler b = new TextAssembler(List.of("é"));
    assertEquals("caf", run(b, "café au lait"));
  }

  @Test
  void finishFlushesAHeldBackPrefixAndAnIncompleteCharacter() {
    TextAssembler a = new TextAssembler(List.of("xyz"));
    StringBuilder out = new StringBuilder();
    for (byte b : "abxy".getBytes(StandardCharsets.UTF_8)) {
      out.append(a.push(b & 0xFF));
    }
    assertEquals("ab", out.toString());
    out.append(a.push(0xE2)); // first byte of a 3-byte character, never completed
    assertEquals("xy\uFFFD", a.finish());
  }
}
