package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class NoiseCalibrationTest {

  private final PromptSplit split = PromptSplit.standard();

  @Test
  void calibratedSigmaGivesInstructGptAgreementOnAFreshSample() {
    List<NoiseCalibration.CandidateSet> sample =
        NoiseCalibration.syntheticSample(split.train(), 4, 2000, 42);
    NoiseCalibration.Result result = NoiseCalibration.calibrate(sample, 0.73, 42);
    assertThat(result.expectedAgreement()).isCloseTo(0.73, within(1e-4));
    assertThat(result.measuredAgreement()).isCloseTo(0.73, within(0.02));
    assertThat(result.sigma()).isBetween(0.2, 0.6);
    assertThat(result.pairs()).isGreaterThan(5000);
    assertThat(result.goldAgreement()).as("one labeler vs the gold order").isBetween(0.8, 0.9);

    // another sample of the same kind, two other labelers: still 0.73 +- 0.02
    List<NoiseCalibration.CandidateSet> fresh =
        NoiseCalibration.syntheticSample(split.train(), 4, 2000, 4242);
    assertThat(NoiseCalibration.measuredAgreement(fresh, result.sigma(), 101, 202))
        .isCloseTo(0.73, within(0.02));
  }

  @Test
  void noNoiseMeansFullAgreementAndMoreNoiseLess() {
    List<NoiseCalibration.CandidateSet> sample =
        NoiseCalibration.syntheticSample(split.train(), 4, 500, 1);
    assertThat(NoiseCalibration.measuredAgreement(sample, 0.0, 1, 2)).isEqualTo(1.0);
    assertThat(NoiseCalibration.expectedAgreement(sample, 0.0)).isEqualTo(1.0);
    double previous = 1.0;
    for (double sigma : new double[] {0.05, 0.2, 0.5, 1, 5}) {
      double e = NoiseCalibration.expectedAgreement(sample, sigma);
      assertThat(e).isLessThan(previous).isGreaterThan(0.5);
      previous = e;
    }
  }

  @Test
  void sampleWithoutDistinctGoldCannotCalibrate() {
    Prompt p = split.train().get(0);
    List<NoiseCalibration.CandidateSet> ties =
        List.of(new NoiseCalibration.CandidateSet(p, List.of("x", "x", "x")));
    assertThatThrownBy(() -> NoiseCalibration.calibrate(ties, 0.73, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void normalCdf() {
    assertThat(NoiseCalibration.phi(0)).isCloseTo(0.5, within(1e-7));
    assertThat(NoiseCalibration.phi(1.959964)).isCloseTo(0.975, within(1e-6));
    assertThat(NoiseCalibration.phi(-1)).isCloseTo(0.158655, within(1e-6));
  }
}
