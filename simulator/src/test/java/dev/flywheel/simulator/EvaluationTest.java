package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The evaluation's scoring, baselines and caching, against an in-memory stand-in for serving. */
class EvaluationTest {

  private final PromptSplit split = PromptSplit.standard();
  private final List<ServingClient.Request> requests =
      Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger v3Calls = new AtomicInteger();

  /** v1 writes a VERBOSE answer every other prompt, v2 always the ideal one; v3 is not served. */
  private ServingClient.Completion answer(ServingClient.Request r) throws HttpJson.HttpFailure {
    requests.add(r);
    Prompt p =
        split.heldOut().stream().filter(x -> x.text().equals(r.prompt())).findFirst().orElseThrow();
    long version = ServingClient.versionOf(r.model());
    String text =
        switch ((int) version) {
          case 1 ->
              p.text().length() % 2 == 0
                  ? p.ideal()
                  : p.family().respond(p, Style.VERBOSE, new SplittableRandom(1));
          case 2, 4 -> p.ideal();
          default -> {
            v3Calls.incrementAndGet();
            throw new HttpJson.HttpFailure(
                "POST", 404, "{\"error\":{\"code\":\"model_not_found\"}}", null);
          }
        };
    return new ServingClient.Completion(
        "t-" + requests.size(),
        r.model(),
        version,
        List.of(new ServingClient.Choice(0, "t-" + requests.size() + "-0", text, "stop")));
  }

  private Evaluation evaluation(Evaluation.Settings settings, double sigma) {
    return new Evaluation(
        this::answer,
        null,
        split,
        new LabelerPool(SyntheticLabeler.Pool.HELD_OUT, 3, sigma, 9),
        settings);
  }

  private static ModelRegistryClient.PolicyVersionInfo v(
      long version, String stage, Long... parents) {
    return new ModelRegistryClient.PolicyVersionInfo(version, stage, "LIVE", List.of(parents));
  }

  @Test
  void scoresEveryVersionAgainstItsSftRoot() throws Exception {
    Evaluation evaluation = evaluation(Evaluation.Settings.GREEDY, 0.0);
    EvaluationReport report =
        evaluation.evaluate(
            List.of(v(1, "SFT"), v(2, "PPO", 1L), v(3, "PPO", 2L, 1L), v(4, "PPO", 2L)));
    EvaluationReport.VersionScore sft = report.version(1).orElseThrow();
    EvaluationReport.VersionScore ppo = report.version(2).orElseThrow();
    assertThat(sft.baselineVersion()).isEqualTo(1);
    assertThat(sft.winRate()).isEqualTo(0.5);
    assertThat(ppo.baselineVersion()).isEqualTo(1);
    assertThat(report.version(4).orElseThrow().baselineVersion())
        .as("found through v2's parents")
        .isEqualTo(1);
    assertThat(ppo.meanGold()).isEqualTo(1.0);
    assertThat(sft.meanGold()).isLessThan(ppo.meanGold());
    assertThat(ppo.baselineGold()).isCloseTo(sft.meanGold(), within(1e-12));
    assertThat(ppo.answered()).isEqualTo(split.heldOut().size());
    assertThat(ppo.goldByFamily()).containsOnlyKeys(TaskFamily.values());
    // v2 ties v1 where v1 was ideal, wins elsewhere: win rate = 0.5 + half the share of verbose
    // answers
    long verbose = split.heldOut().stream().filter(p -> p.text().length() % 2 != 0).count();
    assertThat(ppo.goldWinRate())
        .isCloseTo(0.5 + 0.5 * verbose / split.heldOut().size(), within(1e-12));
    assertThat(ppo.winRate()).as("sigma 0: the labeler is the gold").isEqualTo(ppo.goldWinRate());
    // every prompt has one sample: the mean of per-prompt gains is the difference of the means
    PairedBootstrap.Interval gain = ppo.goldGain();
    assertThat(gain.mean()).isCloseTo(ppo.meanGold() - ppo.baselineGold(), within(1e-12));
    assertThat(gain.low()).as("v2 is never worse: " + gain).isGreaterThan(0);
    assertThat(gain.high()).isGreaterThan(gain.mean());
    assertThat(sft.goldGain()).isEqualTo(new PairedBootstrap.Interval(0, 0, 0));
    EvaluationReport.VersionScore missing = report.version(3).orElseThrow();
    assertThat(missing.answered()).isZero();
    assertThat(missing.errors()).isEqualTo(split.heldOut().size());
    assertThat(missing.note()).contains("404");
    assertThat(missing.goldGain()).as("nothing compared").isNull();
    assertThat(report.bestPpo().orElseThrow().version()).isEqualTo(2);
    assertThat(report.table()).contains("v1", "v2", "PPO", "SFT", "win_rate", gain.toString());
  }

  @Test
  void requestsArePinnedGreedyAndCollectedOncePerVersion() throws Exception {
    Evaluation evaluation = evaluation(Evaluation.Settings.GREEDY, 0.3);
    evaluation.collect(1);
    evaluation.collect(1);
    assertThat(requests).hasSize(split.heldOut().size());
    assertThat(requests)
        .allMatch(r -> r.model().equals("policy-v1") && r.n() == 1 && r.temperature() == 0);
    evaluation.evaluateVersions(List.of(1L, 2L), null);
    assertThat(requests).hasSize(2 * split.heldOut().size());
    evaluation.collect(3);
    evaluation.collect(3);
    assertThat(v3Calls.get())
        .as("failed collections are not cached")
        .isEqualTo(2 * split.heldOut().size());
    assertThat(evaluation.collected()).containsOnlyKeys(1L, 2L);
  }

  @Test
  void sampledEvaluationUsesTheSameSeedsForEveryVersion() throws Exception {
    Evaluation evaluation = evaluation(new Evaluation.Settings(3, 0.7, 48, 5, 2, null), 0.3);
    evaluation.collect(1);
    evaluation.collect(2);
    List<Long> seeds1 =
        requests.stream()
            .filter(r -> r.model().equals("policy-v1"))
            .map(r -> r.prompt() + r.seed())
            .map(String::hashCode)
            .map(Long::valueOf)
            .sorted()
            .toList();
    List<Long> seeds2 =
        requests.stream()
            .filter(r -> r.model().equals("policy-v2"))
            .map(r -> r.prompt() + r.seed())
            .map(String::hashCode)
            .map(Long::valueOf)
            .sorted()
            .toList();
    assertThat(seeds1).hasSize(3 * split.heldOut().size()).isEqualTo(seeds2);
    assertThat(requests).allMatch(r -> r.temperature() == 0.7);
    EvaluationReport report = evaluation.evaluateVersions(List.of(1L, 2L), 1L);
    EvaluationReport.VersionScore v2 = report.version(2).orElseThrow();
    assertThat(v2.comparisons()).isEqualTo(3 * split.heldOut().size());
    assertThat(v2.winRate()).isGreaterThan(0.5);
  }
}
