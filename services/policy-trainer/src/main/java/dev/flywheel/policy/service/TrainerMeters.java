package dev.flywheel.policy.service;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus meters ({@code /prometheus}) of the training loop, named {@code
 * flywheel_policy_trainer_*}: gauges of the phase (ordinal of {@link PolicyTrainerStatus.Phase}),
 * round, step, last published version, the comparison groups held for DPO and the latest
 * PPO/SFT/DPO figures; counters of rounds, PPO iterations, DPO steps, versions, rejections, resumes
 * and dead letters.
 */
@Context
@Requires(beans = MeterRegistry.class)
public class TrainerMeters {

  /**
   * Figures of the last PPO iteration, SFT step or DPO step exported as gauges {@code
   * flywheel_policy_trainer_<name>} ({@code dpo_margin} and {@code dpo_accuracy} also come from
   * online DPO's iterations).
   */
  static final List<String> FIGURES =
      List.of(
          "mean_reward",
          "kl",
          "beta",
          "entropy",
          "clip_fraction",
          "value_loss",
          "explained_variance",
          "rollout_tokens_per_s",
          "update_steps_per_s",
          "generation_share",
          "sft_loss",
          "sft_chain_steps",
          "sft_chain_budget",
          "dpo_loss",
          "dpo_margin",
          "dpo_accuracy");

  public TrainerMeters(MeterRegistry registry, PolicyTrainerStatus status) {
    gauge(
        registry,
        "flywheel.policy.trainer.phase",
        "phase ordinal: " + List.of(PolicyTrainerStatus.Phase.values()),
        status,
        s -> s.phase().ordinal());
    gauge(
        registry,
        "flywheel.policy.trainer.round",
        "version number the current round will publish",
        status,
        PolicyTrainerStatus::round);
    gauge(
        registry,
        "flywheel.policy.trainer.step",
        "step (SFT, DPO) or iteration (PPO) within the round",
        status,
        PolicyTrainerStatus::step);
    gauge(
        registry,
        "flywheel.policy.trainer.last.version",
        "last published policy version",
        status,
        PolicyTrainerStatus::lastPublishedVersion);
    gauge(
        registry,
        "flywheel.policy.trainer.dpo.train.groups",
        "comparison groups (TRAIN split) held for DPO rounds",
        status,
        PolicyTrainerStatus::comparisonTrainGroups);
    gauge(
        registry,
        "flywheel.policy.trainer.dpo.eval.groups",
        "comparison groups (EVAL split) held for the DPO rounds' evaluation",
        status,
        PolicyTrainerStatus::comparisonEvalGroups);
    for (String figure : FIGURES) {
      gauge(
          registry,
          "flywheel.policy.trainer." + figure.replace('_', '.'),
          "latest " + figure,
          status,
          s -> s.figure(figure));
    }
    counter(registry, "flywheel.policy.trainer.sft.rounds", status, PolicyTrainerStatus::sftRounds);
    counter(registry, "flywheel.policy.trainer.ppo.rounds", status, PolicyTrainerStatus::ppoRounds);
    counter(
        registry,
        "flywheel.policy.trainer.ppo.iterations",
        status,
        PolicyTrainerStatus::ppoIterations);
    counter(registry, "flywheel.policy.trainer.dpo.rounds", status, PolicyTrainerStatus::dpoRounds);
    counter(registry, "flywheel.policy.trainer.dpo.steps", status, PolicyTrainerStatus::dpoSteps);
    counter(
        registry,
        "flywheel.policy.trainer.versions.published",
        status,
        PolicyTrainerStatus::versionsPublished);
    counter(
        registry,
        "flywheel.policy.trainer.versions.rejected",
        status,
        PolicyTrainerStatus::versionsRejected);
    counter(registry, "flywheel.policy.trainer.resumes", status, PolicyTrainerStatus::resumes);
    counter(
        registry, "flywheel.policy.trainer.dead.letters", status, PolicyTrainerStatus::deadLetters);
    counter(
        registry,
        "flywheel.policy.trainer.duplicate.demonstrations",
        status,
        PolicyTrainerStatus::duplicateDemonstrations);
    counter(
        registry,
        "flywheel.policy.trainer.registry.outages",
        status,
        PolicyTrainerStatus::registryOutages);
    counter(registry, "flywheel.policy.trainer.restarts", status, PolicyTrainerStatus::restarts);
  }

  private static void gauge(
      MeterRegistry registry,
      String name,
      String description,
      PolicyTrainerStatus status,
      ToDoubleFunction<PolicyTrainerStatus> f) {
    Gauge.builder(name, status, f).description(description).register(registry);
  }

  private static void counter(
      MeterRegistry registry,
      String name,
      PolicyTrainerStatus status,
      ToDoubleFunction<PolicyTrainerStatus> f) {
    FunctionCounter.builder(name, status, f).register(registry);
  }
}
