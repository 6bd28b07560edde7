package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The report's per-family and twin / no-twin rows, on a small split whose numbers can be checked by
 * hand, against an in-memory stand-in for serving; and the twin definition on the real split.
 */
class EvaluationGroupsTest {

  private static Prompt prompt(String text) {
    return TaskFamily.allPrompts().stream()
        .filter(p -> p.text().equals(text))
        .findFirst()
        .orElseThrow();
  }

  // held out at 0.1 (the platform's rule, PromptSplitTest pins it): two with a twin in training,
  // two without; and the two train prompts that are those twins
  private static final List<String> HELD_OUT =
      List.of(
          "What is 0+3?", // twin: "What is 3+0?"
          "What is 3-0?", // no twin: subtraction has one operand order
          "How can I fix a phone?", // twin: "How do I fix a phone?"
          "Thank Sam for the tea."); // no twin: one prompt per (name, thing)
  private static final List<String> TRAIN = List.of("What is 3+0?", "How do I fix a phone?");

  private final PromptSplit split =
      new PromptSplit(
          java.util.stream.Stream.concat(HELD_OUT.stream(), TRAIN.stream())
              .map(EvaluationGroupsTest::prompt)
              .toList(),
          0.1);

  /** v1 answers blank (gold 0) everywhere; v2 the ideal answer (gold 1) where there is a twin. */
  private ServingClient.Completion answer(ServingClient.Request r) {
    Prompt p = prompt(r.prompt());
    long version = ServingClient.versionOf(r.model());
    String text = version == 2 && split.hasTwin(p) ? p.ideal() : "";
    return new ServingClient.Completion(
        "t", r.model(), version, List.of(new ServingClient.Choice(0, "t-0", text, "stop")));
  }

  @Test
  void theSmallSplitIsWhatTheTestAssumes() {
    assertThat(split.heldOut()).extracting(Prompt::text).containsExactlyElementsOf(HELD_OUT);
    assertThat(split.train()).extracting(Prompt::text).containsExactlyElementsOf(TRAIN);
    assertThat(split.heldOut().stream().filter(split::hasTwin).map(Prompt::text))
        .containsExactly("What is 0+3?", "How can I fix a phone?");
  }

  @Test
  void perFamilyAndTwinRowsSitUnderTheOverallRow() throws Exception {
    Evaluation evaluation =
        new Evaluation(
            this::answer,
            null,
            split,
            new LabelerPool(SyntheticLabeler.Pool.HELD_OUT, 2, 0.0, 3),
            Evaluation.Settings.GREEDY);
    EvaluationReport report = evaluation.evaluateVersions(List.of(1L, 2L), 1L);
    EvaluationReport.VersionScore v2 = report.version(2).orElseThrow();

    // overall: 2 of 4 answers ideal; wins on those 2, ties (both blank) on the other 2
    assertThat(v2.answered()).isEqualTo(4);
    assertThat(v2.meanGold()).isEqualTo(0.5);
    assertThat(v2.winRate()).isEqualTo((1 + 1 + 0.5 + 0.5) / 4);
    assertThat(v2.groups())
        .extracting(EvaluationReport.GroupScore::group)
        .containsExactly("arithmetic", "politeness", "safety", "conciseness", "twin", "no-twin");

    EvaluationReport.GroupScore twin = v2.group(EvaluationReport.TWIN).orElseThrow();
    assertThat(twin.prompts()).isEqualTo(2);
    assertThat(twin.answered()).isEqualTo(2);
    assertThat(twin.meanGold()).isEqualTo(1.0);
    assertThat(twin.winRate()).isEqualTo(1.0);
    assertThat(twin.goldWinRate()).isEqualTo(1.0);
    assertThat(twin.baselineGold()).isEqualTo(0.0);
    EvaluationReport.GroupScore noTwin = v2.group(EvaluationReport.NO_TWIN).orElseThrow();
    assertThat(noTwin.prompts()).isEqualTo(2);
    assertThat(noTwin.meanGold()).isEqualTo(0.0);
    assertThat(noTwin.winRate()).as("blank against blank: ties").isEqualTo(0.5);

    // arithmetic: 0+3 (twin, ideal) and 3-0 (no twin, blank)
    EvaluationReport.GroupScore arithmetic = v2.family(TaskFamily.ARITHMETIC).orElseThrow();
    assertThat(arithmetic.prompts()).isEqualTo(2);
    assertThat(arithmetic.answered()).isEqualTo(2);
    assertThat(arithmetic.meanGold()).isEqualTo(0.5);
    assertThat(arithmetic.winRate()).isEqualTo(0.75);
    assertThat(v2.family(TaskFamily.SAFETY).orElseThrow().meanGold()).isEqualTo(1.0);
    assertThat(v2.family(TaskFamily.POLITENESS).orElseThrow().winRate()).isEqualTo(0.5);
    EvaluationReport.GroupScore concise = v2.family(TaskFamily.CONCISENESS).orElseThrow();
    assertThat(concise.prompts()).isZero();
    assertThat(concise.answered()).isZero();
    assertThat(concise.meanGold()).isNaN();
    assertThat(concise.winRate()).isNaN();
    // the existing per-family map agrees with the rows
    assertThat(v2.goldByFamily())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                TaskFamily.ARITHMETIC, 0.5,
                TaskFamily.POLITENESS, 0.0,
                TaskFamily.SAFETY, 1.0));

    // the baseline against itself: ties everywhere
    EvaluationReport.VersionScore v1 = report.version(1).orElseThrow();
    assertThat(v1.groups())
        .filteredOn(g -> g.answered() > 0)
        .allMatch(g -> g.winRate() == 0.5 && g.meanGold() == 0.0);

    String table = report.table();
    assertThat(table).contains("twin (2)", "no-twin (2)", "arithmetic (2)", "conciseness (0)");
    List<String> lines = table.lines().toList();
    int v2Row = indexOf(lines, "v2 ");
    assertThat(lines.get(v2Row + 5)).contains("twin (2)").contains("1.000");
    assertThat(lines.get(v2Row + 6)).contains("no-twin (2)").contains("0.500");
  }

  @Test
  void twinsOnTheStandardSplitAreTheSameRuleInstanceInOtherWords() {
    PromptSplit standard = PromptSplit.standard();
    Map<String, List<Prompt>> trainByInstance =
        standard.train().stream().collect(Collectors.groupingBy(p -> p.family().instance(p)));
    List<Prompt> twins = new ArrayList<>();
    for (Prompt p : standard.heldOut()) {
      if (standard.hasTwin(p)) {
        twins.add(p);
        // same ideal answer, so every response scores the same on both
        for (Prompt t : trainByInstance.get(p.family().instance(p))) {
          assertThat(t.ideal()).isEqualTo(p.ideal());
          assertThat(t.text()).isNotEqualTo(p.text());
          assertThat(t.gold("Sure: fix it, whatever."))
              .isEqualTo(p.gold("Sure: fix it, whatever."));
        }
      }
    }
    // 0.1 of the prompt space: 50 held out, 33 with a twin (15 a+b, 5 "larger", 13 safety asks in
    // another phrasing), 17 without (5 a-b, 3 opposites, 9 politeness)
    assertThat(twins).hasSize(33);
    assertThat(twins.stream().collect(Collectors.groupingBy(Prompt::kind, Collectors.counting())))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("add", 15L, "larger", 5L, "safe", 6L, "unsafe", 7L));
    assertThat(standard.hasTwin(prompt("What is 7-2?"))).isFalse();
    assertThat(TaskFamily.ARITHMETIC.instance(prompt("What is 5+7?")))
        .isEqualTo(TaskFamily.ARITHMETIC.instance(prompt("What is 7+5?")))
        .isNotEqualTo(TaskFamily.ARITHMETIC.instance(prompt("What is 3+9?")));
    assertThat(TaskFamily.CONCISENESS.instance(prompt("What is the opposite of hot?")))
        .isNotEqualTo(TaskFamily.CONCISENESS.instance(prompt("What is the opposite of cold?")));
  }

  private static int indexOf(List<String> lines, String prefix) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith(prefix)) {
        return i;
      }
    }
    throw new AssertionError("no line starts with " + prefix);
  }
}
