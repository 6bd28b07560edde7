package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The choice of candidates to rank, on completions given by hand (no serving involved). */
class CandidateDedupTest {

  private static ServingClient.Completion completion(String id, String... texts) {
    List<ServingClient.Choice> choices = new ArrayList<>();
    for (int i = 0; i < texts.length; i++) {
      choices.add(new ServingClient.Choice(i, id + "-" + i, texts[i], "stop"));
    }
    return new ServingClient.Completion(id, "policy-v1", 1L, choices);
  }

  /** Hands out the given completions in order, then null; records the attempts asked for. */
  private static final class Script implements CandidateDedup.Replacements {
    final List<ServingClient.Completion> answers;
    final List<Integer> asked = new ArrayList<>();

    Script(ServingClient.Completion... answers) {
      this.answers = List.of(answers);
    }

    @Override
    public ServingClient.Completion next(int attempt) {
      asked.add(attempt);
      return attempt < answers.size() ? answers.get(attempt) : null;
    }
  }

  @Test
  void distinctKeepsTheFirstOccurrenceOfEveryText() {
    assertThat(CandidateDedup.distinct(List.of("12", "13", "12", "12 ", "13")))
        .containsExactly(0, 1, 3);
    assertThat(CandidateDedup.distinct(List.of("a", "a", "a"))).containsExactly(0);
  }

  @Test
  void distinctCandidatesAreRankedAsTheyAreWithoutReplacements() throws Exception {
    Script script = new Script(completion("r1", "x", "y"));
    CandidateDedup.Selection s =
        new CandidateDedup(2).select(completion("t", "12", "13", "14", "15"), script);
    assertThat(script.asked).isEmpty();
    assertThat(s.completion().transcriptId()).isEqualTo("t");
    assertThat(s.ranked()).containsExactly(0, 1, 2, 3);
    assertThat(s.hadDuplicates()).isFalse();
    assertThat(s.replacements()).isZero();
    assertThat(s.skipped()).isFalse();
  }

  @Test
  void aDistinctReplacementIsRankedInsteadOfTheRepeatedSet() throws Exception {
    Script script =
        new Script(completion("r1", "12", "12", "13", "13"), completion("r2", "12", "1", "2", "3"));
    CandidateDedup.Selection s =
        new CandidateDedup(3).select(completion("t", "12", "12", "12", "12"), script);
    assertThat(script.asked).as("stops at the first distinct set").containsExactly(0, 1);
    assertThat(s.completion().transcriptId()).isEqualTo("r2");
    assertThat(s.ranked()).containsExactly(0, 1, 2, 3);
    assertThat(s.hadDuplicates()).isTrue();
    assertThat(s.replacements()).isEqualTo(2);
    assertThat(s.skipped()).isFalse();
  }

  @Test
  void withoutADistinctSetTheMostDistinctOneIsRankedOnItsDistinctCandidates() throws Exception {
    Script script =
        new Script(completion("r1", "12", "13", "12", "14"), completion("r2", "5", "6", "5", "6"));
    CandidateDedup.Selection s =
        new CandidateDedup(2).select(completion("t", "12", "12", "13", "12"), script);
    assertThat(script.asked).containsExactly(0, 1);
    assertThat(s.completion().transcriptId())
        .as("3 distinct beats 2, and the first of equals")
        .isEqualTo("r1");
    assertThat(s.ranked()).containsExactly(0, 1, 3);
    assertThat(s.replacements()).isEqualTo(2);
    assertThat(s.skipped()).isFalse();
  }

  @Test
  void identicalEverywhereIsSkipped() throws Exception {
    Script script = new Script(completion("r1", "12", "12"), completion("r2", "12", "12"));
    CandidateDedup.Selection s = new CandidateDedup(2).select(completion("t", "12", "12"), script);
    assertThat(script.asked).hasSize(2);
    assertThat(s.skipped()).isTrue();
    assertThat(s.ranked()).hasSize(1);
    assertThat(s.hadDuplicates()).isTrue();
  }

  @Test
  void noReplacementsAllowedOrNoneToBeHad() throws Exception {
    Script none = new Script(completion("r1", "1", "2", "3"));
    CandidateDedup.Selection s =
        new CandidateDedup(0).select(completion("t", "12", "12", "13"), none);
    assertThat(none.asked).isEmpty();
    assertThat(s.completion().transcriptId()).isEqualTo("t");
    assertThat(s.ranked()).containsExactly(0, 2);
    assertThat(s.skipped()).isFalse();

    Script stopped = new Script(); // the loop stopped: every attempt answers null
    s = new CandidateDedup(5).select(completion("t", "12", "12", "12"), stopped);
    assertThat(stopped.asked).as("a null ends the attempts").containsExactly(0);
    assertThat(s.replacements()).isZero();
    assertThat(s.skipped()).isTrue();
  }

  @Test
  void offRanksEveryCandidateButStillReportsDuplicates() {
    CandidateDedup.Selection s = CandidateDedup.all(completion("t", "12", "12", "13"));
    assertThat(s.ranked()).containsExactly(0, 1, 2);
    assertThat(s.hadDuplicates()).isTrue();
    assertThat(s.skipped()).isFalse();
    assertThat(CandidateDedup.all(completion("t", "1", "2")).hadDuplicates()).isFalse();
    assertThatThrownBy(() -> new CandidateDedup(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
