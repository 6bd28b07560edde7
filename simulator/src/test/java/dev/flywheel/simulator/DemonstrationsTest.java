package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DemonstrationsTest {

  private final PromptSplit split = PromptSplit.standard();

  @Test
  void honoursTheImperfectShareExactly() {
    List<Demonstrations.Demonstration> demos = Demonstrations.generate(split, 1000, 0.25, 7);
    assertThat(demos).hasSize(1000);
    Map<Style, Integer> styles = new EnumMap<>(Style.class);
    demos.forEach(d -> styles.merge(d.style(), 1, Integer::sum));
    assertThat(styles.get(Style.GOOD)).isEqualTo(750);
    assertThat(styles.get(Style.VERBOSE) + styles.get(Style.IMPOLITE) + styles.get(Style.WRONG))
        .isEqualTo(250);
    assertThat(styles.get(Style.VERBOSE)).isBetween(83, 84);
    assertThat(styles.get(Style.IMPOLITE)).isBetween(83, 84);
    assertThat(styles.get(Style.WRONG)).isBetween(83, 84);
    for (Demonstrations.Demonstration d : demos) {
      if (d.style() == Style.GOOD) {
        assertThat(d.response()).isEqualTo(d.prompt().ideal());
        assertThat(d.prompt().gold(d.response())).isEqualTo(1.0);
      } else {
        assertThat(d.prompt().gold(d.response())).as(d.toString()).isLessThan(1.0);
      }
    }
    assertThat(Demonstrations.generate(split, 10, 0.0, 7)).allMatch(d -> d.style() == Style.GOOD);
    assertThat(Demonstrations.generate(split, 10, 1.0, 7)).noneMatch(d -> d.style() == Style.GOOD);
  }

  @Test
  void usesOnlyTrainPromptsEachAboutEquallyOften() {
    List<Demonstrations.Demonstration> demos =
        Demonstrations.generate(split, 2 * split.train().size() + 5, 0.25, 1);
    Set<String> heldOut = split.heldOut().stream().map(Prompt::text).collect(Collectors.toSet());
    Map<String, Integer> uses = new HashMap<>();
    for (Demonstrations.Demonstration d : demos) {
      assertThat(heldOut).doesNotContain(d.prompt().text());
      uses.merge(d.prompt().text(), 1, Integer::sum);
    }
    assertThat(uses).hasSize(split.train().size());
    assertThat(uses.values()).allMatch(n -> n == 2 || n == 3);
  }

  @Test
  void deterministicWithStableUniqueIds() {
    List<Demonstrations.Demonstration> a = Demonstrations.generate(split, 300, 0.3, 11);
    List<Demonstrations.Demonstration> b = Demonstrations.generate(split, 300, 0.3, 11);
    assertThat(a).isEqualTo(b);
    assertThat(a.stream().map(Demonstrations.Demonstration::demonstrationId).distinct().count())
        .isEqualTo(300);
    assertThat(Demonstrations.generate(split, 300, 0.3, 12)).isNotEqualTo(a);
    assertThat(a).allMatch(d -> d.annotatorId().startsWith("sim-writer-"));
    assertThatThrownBy(() -> Demonstrations.generate(split, 10, 1.5, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
