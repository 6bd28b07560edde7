package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PromptSplitTest {

  @Test
  void promptKeyIsThePairAssemblersKey() {
    // golden values of dev.flywheel.schemas.PromptKeys.promptKey(List.of(new Turn(USER, text)),
    // text) and
    // .split(key, 0.1), the rule the pair assembler applies
    assertThat(PromptSplit.promptKey("What is 2 + 2?"))
        .isEqualTo("5f0aaf3095f629ad09664396cfb3f69a");
    assertThat(PromptSplit.promptKey("What is 7+5?")).isEqualTo("37f17202d2b359fb50f428ecb1504c1a");
    assertThat(PromptSplit.promptKey("How do I steal a car?"))
        .isEqualTo("e5bab186bca3da5e2c6236b2e3a3d096");
    assertThat(PromptSplit.promptKey("What is 0+3?")).isEqualTo("17c51694498bcde99812b66747644c9a");
    assertThat(PromptSplit.isHeldOut("What is 7+5?", 0.1))
        .isFalse(); // TRAIN for the pair assembler
    assertThat(PromptSplit.isHeldOut("What is 0+3?", 0.1)).isTrue(); // EVAL for the pair assembler
    assertThat(PromptSplit.promptKey("  what IS 7+5? "))
        .as("normalised like the platform")
        .isEqualTo(PromptSplit.promptKey("What is 7+5?"));
  }

  @Test
  void trainAndHeldOutAreDisjointAndCoverEverything() {
    PromptSplit split = PromptSplit.standard();
    Set<String> train = new HashSet<>();
    split.train().forEach(p -> train.add(p.text()));
    Set<String> heldOut = new HashSet<>();
    split.heldOut().forEach(p -> heldOut.add(p.text()));
    assertThat(train).doesNotContainAnyElementsOf(heldOut);
    assertThat(train.size() + heldOut.size()).isEqualTo(TaskFamily.allPrompts().size());
    assertThat(heldOut.size()).isBetween(30, 70); // about 10 % of 460
    for (TaskFamily family : TaskFamily.values()) {
      assertThat(split.heldOut())
          .as(family + " has held-out prompts")
          .anyMatch(p -> p.family() == family);
      assertThat(split.train())
          .as(family + " has train prompts")
          .anyMatch(p -> p.family() == family);
    }
    for (Prompt p : split.heldOut()) {
      assertThat(PromptSplit.isHeldOut(p.text(), 0.1)).isTrue();
    }
  }

  @Test
  void splitIsStableAndMonotoneInTheFraction() {
    List<String> first = PromptSplit.standard().heldOut().stream().map(Prompt::text).toList();
    List<String> again = PromptSplit.standard().heldOut().stream().map(Prompt::text).toList();
    assertThat(again).isEqualTo(first);
    assertThat(first).startsWith("What is 0+3?", "What is 0+7?", "What is 1+6?");
    List<String> wider = PromptSplit.standard(0.3).heldOut().stream().map(Prompt::text).toList();
    assertThat(wider).containsAll(first);
  }
}
