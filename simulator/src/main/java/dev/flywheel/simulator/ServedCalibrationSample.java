package dev.flywheel.simulator;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * The sample a {@code --calibrate-on served} calibration measures: {@code served-calibration-sets}
 * candidate sets of K answers from serving to random train prompts, asked exactly as the loop asks
 * (model, K, temperature, max tokens). A 503 or 429 (no version live yet, overload) is waited out
 * for its {@code Retry-After}; connection errors are retried with a growing pause, up to 100 in a
 * row. The sets are never ranked: they measure the labelers' noise on what the labelers will see,
 * they are not feedback.
 */
final class ServedCalibrationSample {

  private final ServingClient serving;
  private final PromptSplit split;
  private final SimulatorConfig config;

  ServedCalibrationSample(ServingClient serving, PromptSplit split, SimulatorConfig config) {
    this.serving = serving;
    this.split = split;
    this.config = config;
  }

  /** The sets; fewer than asked only when {@code stop} turned true first. */
  List<NoiseCalibration.CandidateSet> collect(BooleanSupplier stop) throws InterruptedException {
    SplittableRandom random = new SplittableRandom(SyntheticLabeler.mix(config.seed(), 0xCA11BL));
    List<NoiseCalibration.CandidateSet> sets = new ArrayList<>();
    int consecutiveErrors = 0;
    while (sets.size() < config.servedCalibrationSets() && !stop.getAsBoolean()) {
      Prompt prompt = split.randomTrain(random);
      ServingClient.Request request =
          config.loopRequest(prompt.text(), random.nextLong(), "sim-calibration");
      try {
        ServingClient.Completion c = serving.complete(request);
        sets.add(
            new NoiseCalibration.CandidateSet(
                prompt, c.choices().stream().map(ServingClient.Choice::text).toList()));
        consecutiveErrors = 0;
      } catch (HttpJson.HttpFailure f) {
        if (f.status() != 503 && f.status() != 429) {
          throw new IllegalStateException("serving refused a calibration request: " + f);
        }
        Thread.sleep(Math.max(100, f.retryAfter().map(Duration::toMillis).orElse(2000L)));
      } catch (IOException e) {
        if (++consecutiveErrors >= Simulator.MAX_CONSECUTIVE_ERRORS) {
          throw new IllegalStateException(
              Simulator.MAX_CONSECUTIVE_ERRORS
                  + " consecutive errors calibrating on serving; last: "
                  + e);
        }
        Thread.sleep(Math.min(5000, 250L * consecutiveErrors));
      }
    }
    return sets;
  }
}
