package dev.flywheel.reward;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;

/**
 * Prometheus meters of the trainer (see README): rounds, versions accepted/rejected, groups
 * trained, dead letters, steps (counters); groups buffered/pending, eval groups, last eval
 * accuracy, train throughput, live version (gauges).
 */
@Context
@Requires(beans = {MeterRegistry.class, RewardTrainerService.class})
public class RewardTrainerMeters {

  public RewardTrainerMeters(MeterRegistry registry, RewardTrainerService service) {
    RewardTrainerStats s = service.stats();
    FunctionCounter.builder("reward_trainer_rounds", s, RewardTrainerStats::rounds)
        .description("Training rounds completed (one version each)")
        .register(registry);
    FunctionCounter.builder(
            "reward_trainer_versions_accepted", s, RewardTrainerStats::versionsAccepted)
        .description("Versions that passed the gate and were published LIVE")
        .register(registry);
    FunctionCounter.builder(
            "reward_trainer_versions_rejected", s, RewardTrainerStats::versionsRejected)
        .description("Versions that failed the gate and were published REJECTED")
        .register(registry);
    FunctionCounter.builder("reward_trainer_groups_trained", s, RewardTrainerStats::groupsTrained)
        .description("Comparison groups trained on (each epoch counted)")
        .register(registry);
    FunctionCounter.builder("reward_trainer_steps", s, RewardTrainerStats::steps)
        .description("Optimizer steps")
        .register(registry);
    FunctionCounter.builder("reward_trainer_checkpoints", s, RewardTrainerStats::checkpoints)
        .description("Mid-round checkpoints written (a restart resumes from the latest)")
        .register(registry);
    FunctionCounter.builder(
            "reward_trainer_registry_outages", s, RewardTrainerStats::registryOutages)
        .description("Polls stopped by a schema-registry outage; the records were read again")
        .register(registry);
    FunctionCounter.builder(
            "reward_trainer_unusable_parents", s, RewardTrainerStats::unusableParents)
        .description(
            "Rounds whose parent artifact was missing or corrupt (trained from the initial model)")
        .register(registry);
    FunctionCounter.builder("reward_trainer_dead_letters", s, RewardTrainerStats::deadLetters)
        .description("Input records sent to the dead-letter topic")
        .register(registry);
    FunctionCounter.builder("reward_trainer_restarts", s, RewardTrainerStats::restarts)
        .description("Restarts of the trainer loop after a failure")
        .register(registry);
    Gauge.builder("reward_trainer_groups_buffered", s, RewardTrainerStats::groupsBuffered)
        .description("Trained groups held for replay")
        .register(registry);
    Gauge.builder("reward_trainer_groups_pending", s, RewardTrainerStats::groupsPending)
        .description("Groups read but not yet in a version")
        .register(registry);
    Gauge.builder("reward_trainer_eval_groups", s, RewardTrainerStats::evalGroups)
        .description("Held-out (eval split) groups")
        .register(registry);
    Gauge.builder("reward_trainer_last_eval_accuracy", s, RewardTrainerStats::lastEvalAccuracy)
        .description("Held-out pairwise accuracy of the last version")
        .register(registry);
    Gauge.builder(
            "reward_trainer_train_groups_per_second", s, RewardTrainerStats::lastGroupsPerSecond)
        .description("Training throughput of the last round")
        .register(registry);
    Gauge.builder("reward_trainer_live_version", s, RewardTrainerStats::liveVersion)
        .description("Latest LIVE (accepted) version, -1 if none")
        .register(registry);
    Gauge.builder(
            "reward_trainer_training",
            s,
            x -> x.state() == RewardTrainerStats.State.TRAINING ? 1 : 0)
        .description("1 while a round trains")
        .register(registry);
  }
}
