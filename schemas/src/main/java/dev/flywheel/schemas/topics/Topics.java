package dev.flywheel.schemas.topics;

import static dev.flywheel.schemas.topics.TopicSpec.CleanupPolicy.COMPACT;
import static dev.flywheel.schemas.topics.TopicSpec.CleanupPolicy.DELETE;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.TrainingMetrics;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The topic catalogue: every topic of the platform, declared once. Keys are UTF-8 strings; values
 * are Avro in the Confluent wire format, registered under TopicNameStrategy ({@code
 * <topic>-value}).
 *
 * <p>Feedback and comparison topics keep their data forever: they are the training set, and
 * trainers rebuild their buffers from them after a restart.
 *
 * <p>Replication is chosen per environment, not per topic ({@link TopicReplication}): every topic
 * is created with the environment's replication factor and {@code min.insync.replicas} — 1 and 1 on
 * the single broker of the local platform and the tests ({@link TopicReplication#SINGLE_BROKER}), 3
 * and 2 in the Helm chart's values ({@link TopicReplication#PRODUCTION}) — since the producers'
 * {@code acks=all} promises only what those two allow. An existing topic with fewer replicas or a
 * lower {@code min.insync.replicas} than asked is reported by the topic creator (and, when asked,
 * fails it).
 */
public final class Topics {

  private Topics() {}

  public static final TopicSpec<ChatTranscript> CHAT_TRANSCRIPTS =
      new TopicSpec<>(
          "chat.transcripts",
          "transcriptId",
          ChatTranscript.class,
          6,
          DELETE,
          null,
          "Every prompt with the candidate responses shown, stamped with the policy version.");

  public static final TopicSpec<HumanRanking> FEEDBACK_RANKINGS =
      new TopicSpec<>(
          "feedback.rankings",
          "transcriptId",
          HumanRanking.class,
          6,
          DELETE,
          null,
          "Human rankings of a transcript's responses; keyed like transcripts so the join is co-partitioned.");

  public static final TopicSpec<Demonstration> FEEDBACK_DEMONSTRATIONS =
      new TopicSpec<>(
          "feedback.demonstrations",
          "demonstrationId",
          Demonstration.class,
          3,
          DELETE,
          null,
          "Human-written responses for supervised fine-tuning.");

  public static final TopicSpec<ComparisonGroup> TRAINING_COMPARISONS =
      new TopicSpec<>(
          "training.comparisons",
          "promptKey",
          ComparisonGroup.class,
          6,
          DELETE,
          null,
          "One record per ranked prompt with all its comparison pairs.");

  public static final TopicSpec<RolloutRequest> ROLLOUT_REQUESTS =
      new TopicSpec<>(
          "training.rollout-requests",
          "requestId",
          RolloutRequest.class,
          6,
          DELETE,
          Duration.ofDays(7),
          "Rollouts a learner asks of the rollout workers (one consumer group; partitions bound the workers that share the work).");

  public static final TopicSpec<RolloutBatch> ROLLOUT_BATCHES =
      new TopicSpec<>(
          "training.rollout-batches",
          "requestId",
          RolloutBatch.class,
          3,
          DELETE,
          Duration.ofDays(7),
          "Scored samples with behaviour log-probs, one batch per request: what each RL update trained on.");

  public static final TopicSpec<RewardModelVersion> REWARD_VERSIONS =
      new TopicSpec<>(
          "models.reward.versions",
          "version",
          RewardModelVersion.class,
          1,
          COMPACT,
          null,
          "Every reward model version with status, metrics and lineage.");

  public static final TopicSpec<PolicyVersion> POLICY_VERSIONS =
      new TopicSpec<>(
          "models.policy.versions",
          "version",
          PolicyVersion.class,
          1,
          COMPACT,
          null,
          "Every policy version with status, metrics and lineage.");

  public static final TopicSpec<ModelControl> MODEL_CONTROL =
      new TopicSpec<>(
          "models.control",
          "modelKind",
          ModelControl.class,
          1,
          DELETE,
          Duration.ofDays(30),
          "Promote/rollback instructions from operators.");

  public static final TopicSpec<TrainingMetrics> TRAINING_METRICS =
      new TopicSpec<>(
          "training.metrics",
          "source",
          TrainingMetrics.class,
          1,
          DELETE,
          Duration.ofDays(30),
          "Per-step and per-round training figures for dashboards.");

  public static final TopicSpec<DeadLetter> DEAD_LETTERS =
      new TopicSpec<>(
          "flywheel.dead-letters",
          "original key",
          DeadLetter.class,
          1,
          DELETE,
          Duration.ofDays(30),
          "Records that could not be processed, with the reason and raw bytes.");

  public static final List<TopicSpec<?>> ALL =
      List.of(
          CHAT_TRANSCRIPTS,
          FEEDBACK_RANKINGS,
          FEEDBACK_DEMONSTRATIONS,
          TRAINING_COMPARISONS,
          ROLLOUT_REQUESTS,
          ROLLOUT_BATCHES,
          REWARD_VERSIONS,
          POLICY_VERSIONS,
          MODEL_CONTROL,
          TRAINING_METRICS,
          DEAD_LETTERS);

  public static Optional<TopicSpec<?>> byName(String name) {
    return ALL.stream().filter(t -> t.name().equals(name)).findFirst();
  }
}
