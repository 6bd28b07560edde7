package dev.flywheel.policy.service;

import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.ScoreNormalizer;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.VersionLedger;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * An RL round's state: what it trains against (reward model, base, reference, the version it will
 * publish, the transcript ranges its prompts came from) and how far it got, kept in {@code extra},
 * the map its checkpoints save — built for a new round or read back from a checkpoint's {@code
 * extra}.
 *
 * @param extra the checkpoint's {@code extra}: {@code kind}, {@code round_id}, {@code
 *     reward_version}, {@code base_version}, {@code reference_version}, {@code transcript_ranges},
 *     {@code round_started_ms}, {@code value_init}, {@code first_mean_reward}, {@code
 *     rollout_batches} and, once checkpointed, β and the score normaliser's state; updated as the
 *     round goes on
 * @param target the version the round will publish
 * @param fromIteration the first iteration this process trains (0, or where the checkpoint was)
 * @param transcriptRanges per {@code chat.transcripts} partition, the offsets [from, until) the
 *     round's prompt pool held when it started
 */
record RlRoundState(
    Map<String, String> extra,
    RewardModelVersion rewardModel,
    PolicyVersion base,
    long referenceVersion,
    PolicyVersion reference,
    long target,
    int fromIteration,
    Map<Integer, long[]> transcriptRanges) {

  /**
   * A new round: the accepted reward model against the base policy, anchored at the base's
   * reference.
   */
  static RlRoundState start(
      VersionLedger<RewardModelVersion> rewards,
      VersionLedger<PolicyVersion> policies,
      RoundScheduler scheduler,
      PromptPool prompts) {
    Map<String, String> extra = new LinkedHashMap<>();
    RewardModelVersion rm = rewards.latestAccepted().orElseThrow();
    PolicyVersion base = scheduler.basePolicy().orElseThrow();
    long target = policies.nextVersion();
    Map<Integer, long[]> transcriptRange = prompts.transcriptRanges();
    extra.put("kind", "ppo");
    extra.put("round_id", UUID.randomUUID().toString());
    extra.put("reward_version", String.valueOf(rm.getVersion()));
    extra.put("base_version", String.valueOf(base.getVersion()));
    extra.put("reference_version", String.valueOf(scheduler.referenceOf(base)));
    extra.put("transcript_ranges", RoundRanges.encode(transcriptRange));
    extra.put("round_started_ms", String.valueOf(System.currentTimeMillis()));
    return withReference(extra, rm, base, target, 0, transcriptRange, policies);
  }

  /** The checkpointed round {@code resume}, to go on from its last iteration. */
  static RlRoundState resume(
      Checkpoints.Checkpoint resume,
      VersionLedger<RewardModelVersion> rewards,
      VersionLedger<PolicyVersion> policies) {
    Map<String, String> extra = new LinkedHashMap<>();
    extra.putAll(resume.state().extra());
    RewardModelVersion rm = rewards.get(Long.parseLong(extra.get("reward_version"))).orElseThrow();
    PolicyVersion base = policies.get(Long.parseLong(extra.get("base_version"))).orElseThrow();
    long target = Math.max(resume.state().round(), policies.nextVersion());
    int fromIteration = (int) resume.state().step();
    Map<Integer, long[]> transcriptRange = RoundRanges.decode(extra.get("transcript_ranges"));
    return withReference(extra, rm, base, target, fromIteration, transcriptRange, policies);
  }

  private static RlRoundState withReference(
      Map<String, String> extra,
      RewardModelVersion rm,
      PolicyVersion base,
      long target,
      int fromIteration,
      Map<Integer, long[]> transcriptRange,
      VersionLedger<PolicyVersion> policies) {
    long refVersion = Long.parseLong(extra.get("reference_version"));
    PolicyVersion ref =
        policies
            .get(refVersion)
            .orElseThrow(() -> new IllegalStateException("reference v" + refVersion + " unknown"));
    return new RlRoundState(
        extra, rm, base, refVersion, ref, target, fromIteration, transcriptRange);
  }

  String roundId() {
    return extra.get("round_id");
  }

  /**
   * A new round's value model is set up: records where it started ({@code value_init}) and that no
   * iteration has run yet.
   */
  void initialised(String valueInit) {
    extra.put("value_init", valueInit);
    extra.put("first_mean_reward", "");
  }

  /** Where the value model started ({@code none} without one); null if the checkpoint lacks it. */
  String valueInit() {
    return extra.get("value_init");
  }

  /** Records an iteration's mean reward as the round's first unless one is recorded. */
  void recordMeanReward(double meanReward) {
    if (extra.getOrDefault("first_mean_reward", "").isEmpty()) {
      extra.put("first_mean_reward", String.valueOf(meanReward));
    }
  }

  /** The mean reward of the round's first iteration; null before it (or for an old checkpoint). */
  Double firstMeanReward() {
    String first = extra.get("first_mean_reward");
    if (first != null && !first.isEmpty()) {
      return Double.parseDouble(first);
    }
    return null;
  }

  /** When the round started (set now for a checkpoint that lacks it). */
  Instant startedAt() {
    long started =
        Long.parseLong(
            extra.computeIfAbsent(
                "round_started_ms", k -> String.valueOf(System.currentTimeMillis())));
    return Instant.ofEpochMilli(started);
  }

  /** Records the worker batches the round has trained on (its lineage so far). */
  void recordRolloutBatches(List<OffsetRange> lineage) {
    extra.put("rollout_batches", WorkerRolloutSource.encode(lineage));
  }

  /** The worker batches a resumed round had trained on, on {@code topic}. */
  List<OffsetRange> rolloutBatches(String topic) {
    return WorkerRolloutSource.decode(topic, extra.get("rollout_batches"));
  }

  /** The checkpoint's {@code extra} now: the round's keys with the optimizer's β and normaliser. */
  Map<String, String> checkpointExtra(PolicyOptimizer trainer) {
    extra.put("beta", String.valueOf(trainer.kl().value()));
    extra.put("norm_count", String.valueOf(trainer.normalizer().count()));
    extra.put("norm_mean", String.valueOf(trainer.normalizer().mean()));
    extra.put("norm_m2", String.valueOf(trainer.normalizer().m2()));
    return extra;
  }

  /** β where the checkpoint left it. */
  double beta() {
    return Double.parseDouble(extra.get("beta"));
  }

  /** The score normaliser where the checkpoint left it. */
  ScoreNormalizer normalizer() {
    return new ScoreNormalizer(
        Long.parseLong(extra.get("norm_count")),
        Double.parseDouble(extra.get("norm_mean")),
        Double.parseDouble(extra.get("norm_m2")));
  }
}
