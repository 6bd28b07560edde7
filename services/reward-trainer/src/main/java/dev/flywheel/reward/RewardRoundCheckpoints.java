package dev.flywheel.reward;

import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.RewardModel;
import dev.flywheel.trainerkit.Checkpoints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.TopicPartition;

/**
 * The reward trainer's round checkpoints in {@link Checkpoints}: what a mid-round checkpoint and
 * the checkpoint after a published version record, and reading it back.
 *
 * <p>Both record the round, the step, the version and the committed input offsets (the round's
 * start) in the state, and in its {@code extra}: {@code phase} ({@code training} or {@code
 * published}) and {@code history.from.<partition>} (where a rebuild of the buffer and eval set
 * starts). A mid-round checkpoint adds {@code parent} (the parent version, empty for a fresh
 * model), {@code plan} (the hash of the round's {@link RoundPlan}), {@code until.<partition>} (the
 * round's input end offsets), {@link EarlyStopping}'s entries, and the model in the file {@value
 * #MODEL}.
 */
final class RewardRoundCheckpoints {

  /** The file (a directory) a mid-round checkpoint holds the model in. */
  static final String MODEL = "model";

  private static final String PHASE_TRAINING = "training";
  private static final String PHASE_PUBLISHED = "published";
  private static final String PHASE = "phase";
  private static final String PARENT = "parent";
  private static final String PLAN = "plan";
  private static final String UNTIL = "until.";
  private static final String HISTORY_FROM = "history.from.";

  private final Checkpoints checkpoints;

  RewardRoundCheckpoints(Checkpoints checkpoints) {
    this.checkpoints = checkpoints;
  }

  /** The latest complete checkpoint, if any. */
  Optional<Checkpoints.Checkpoint> latest() {
    return checkpoints.latest();
  }

  /**
   * The state a mid-round checkpoint records besides the model (read back by {@link #resumable}).
   *
   * @param parent the version the round warm-starts from; empty for a fresh model
   * @param historyFrom per partition, where a rebuild of the buffer and eval set starts
   */
  static Map<String, String> trainingExtra(
      Optional<Long> parent,
      String planHash,
      Map<TopicPartition, Long> until,
      Map<Integer, Long> historyFrom) {
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put(PHASE, PHASE_TRAINING);
    extra.put(PARENT, parent.map(p -> Long.toString(p)).orElse(""));
    extra.put(PLAN, planHash);
    until.forEach((tp, o) -> extra.put(UNTIL + tp.partition(), Long.toString(o)));
    putHistoryFrom(extra, historyFrom);
    return extra;
  }

  /**
   * Saves a mid-round checkpoint: {@code extra} from {@link #trainingExtra} plus {@code early}'s
   * state, the model and {@code early}'s best parameters.
   *
   * @param start the committed input offsets (where the round's input starts)
   */
  void saveTraining(
      RewardModel model,
      long round,
      int step,
      long version,
      Map<TopicPartition, Long> start,
      Map<String, String> extra,
      EarlyStopping early)
      throws IOException {
    Map<String, String> state = new LinkedHashMap<>(extra);
    state.putAll(early.state());
    checkpoints.save(
        new Checkpoints.State(round, step, version, start, state),
        dir -> {
          ModelArtifacts.save(
              dir.resolve(MODEL),
              model,
              ByteTokenizer.INSTANCE,
              Map.of("round", Long.toString(round), "step", Integer.toString(step)));
          early.saveBest(dir);
        });
  }

  /**
   * After a version is published: a checkpoint without a model that says where the rebuild of the
   * buffer and eval set starts.
   */
  void savePublished(
      long round,
      int totalSteps,
      long version,
      Map<TopicPartition, Long> committed,
      Map<Integer, Long> historyFrom)
      throws IOException {
    Map<String, String> done = new LinkedHashMap<>();
    done.put(PHASE, PHASE_PUBLISHED);
    putHistoryFrom(done, historyFrom);
    checkpoints.save(new Checkpoints.State(round, totalSteps, version, committed, done));
  }

  private static void putHistoryFrom(Map<String, String> extra, Map<Integer, Long> historyFrom) {
    historyFrom.forEach((p, o) -> extra.put(HISTORY_FROM + p, Long.toString(o)));
  }

  /**
   * Whether {@code c} is a mid-round checkpoint of exactly the round that comes next.
   *
   * @param nextVersion the version the next round trains
   * @param accepted the version the next round warm-starts from; empty without one
   * @param committed the committed input offsets (the next round's start)
   * @param partitions every input partition
   */
  static boolean resumable(
      Checkpoints.Checkpoint c,
      long nextVersion,
      Optional<Long> accepted,
      Map<TopicPartition, Long> committed,
      List<TopicPartition> partitions) {
    Checkpoints.State s = c.state();
    if (!PHASE_TRAINING.equals(s.extra().get(PHASE))
        || s.version() == null
        || s.version() != nextVersion) {
      return false;
    }
    String parent = s.extra().getOrDefault(PARENT, "");
    String live = accepted.map(v -> Long.toString(v)).orElse("");
    if (!parent.equals(live)) {
      return false;
    }
    Map<TopicPartition, Long> start = s.offsetMap();
    for (TopicPartition tp : partitions) {
      if (!committed.get(tp).equals(start.getOrDefault(tp, -1L))
          || !s.extra().containsKey(UNTIL + tp.partition())) {
        return false;
      }
    }
    return Files.isDirectory(model(c));
  }

  /** Whether the checkpoint was made for the round data {@code planHash} describes. */
  static boolean samePlan(Checkpoints.Checkpoint c, String planHash) {
    return planHash.equals(c.state().extra().get(PLAN));
  }

  /** Where a mid-round checkpoint holds its model. */
  static Path model(Checkpoints.Checkpoint c) {
    return c.file(MODEL);
  }

  /** The round's input end offsets a {@link #resumable} checkpoint recorded. */
  static Map<TopicPartition, Long> until(
      Checkpoints.Checkpoint c, List<TopicPartition> partitions) {
    Map<TopicPartition, Long> out = new HashMap<>();
    for (TopicPartition tp : partitions) {
      out.put(tp, Long.parseLong(c.state().extra().get(UNTIL + tp.partition())));
    }
    return out;
  }

  /**
   * Where the checkpoint says a rebuild of the buffer and eval set starts on {@code partition};
   * null when it does not say.
   */
  static Long historyFrom(Checkpoints.Checkpoint c, int partition) {
    String held = c.state().extra().get(HISTORY_FROM + partition);
    return held == null ? null : Long.parseLong(held);
  }
}
