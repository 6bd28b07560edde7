package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The paired bootstrap the evaluation and the benchmarks put their intervals on. */
class PairedBootstrapTest {

  @Test
  void theIntervalHoldsTheMeanNarrowsWithMorePromptsAndShiftsWithTheData() {
    SplittableRandom random = new SplittableRandom(7);
    double[] few = random.doubles(40).map(x -> x - 0.4).toArray();
    double[] many = random.doubles(640).map(x -> x - 0.4).toArray();
    PairedBootstrap.Interval a = PairedBootstrap.of(few, 1);
    PairedBootstrap.Interval b = PairedBootstrap.of(many, 1);
    assertThat(a.low()).isLessThan(a.mean());
    assertThat(a.high()).isGreaterThan(a.mean());
    // uniform noise: sd 0.289, so the 95% half-width is about 1.96 × 0.289 / √n
    assertThat((a.high() - a.low()) / 2).isCloseTo(1.96 * 0.2887 / Math.sqrt(40), within(0.02));
    assertThat(b.high() - b.low()).isLessThan((a.high() - a.low()) / 3);
    assertThat(b.mean()).isCloseTo(0.1, within(0.03));

    double[] shifted = java.util.Arrays.stream(few).map(x -> x + 1).toArray();
    PairedBootstrap.Interval c = PairedBootstrap.of(shifted, 1);
    assertThat(c.low()).isCloseTo(a.low() + 1, within(1e-9));
    assertThat(c.high()).isCloseTo(a.high() + 1, within(1e-9));
    assertThat(PairedBootstrap.of(few, 1)).as("the seed fixes the draw").isEqualTo(a);
  }

  @Test
  void aDifferenceIsPairedByPrompt() {
    // a prompt's difficulty (the shared offset) cancels: the difference is exactly +0.1 everywhere
    double[] hard = {0.1, 0.9, 0.3, 0.7, 0.5};
    double[] better = java.util.Arrays.stream(hard).map(x -> x + 0.1).toArray();
    PairedBootstrap.Interval d = PairedBootstrap.difference(better, hard, 3);
    assertThat(d.mean()).isCloseTo(0.1, within(1e-12));
    assertThat(d.low()).isCloseTo(0.1, within(1e-12));
    assertThat(d.high()).isCloseTo(0.1, within(1e-12));
    assertThat(d.toString()).isEqualTo("+0.100 [+0.100, +0.100]");
    assertThatThrownBy(() -> PairedBootstrap.difference(hard, new double[2], 3))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PairedBootstrap.of(new double[0], 3))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
