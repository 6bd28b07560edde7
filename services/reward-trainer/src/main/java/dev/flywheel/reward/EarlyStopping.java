package dev.flywheel.reward;

import dev.flywheel.model.GptModel;
import dev.flywheel.model.ParameterSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keeps the parameters of the epoch with the lowest validation loss and says when to stop: after
 * {@code patience} evaluations in a row without a new best (Prechelt 1998, "Early stopping — but
 * when?"; the {@code EarlyStoppingCallback} of HF transformers counts patience the same way). When
 * a round warm-starts from the accepted version, epoch 0 (that version) is a candidate too: a round
 * whose training only over-fits keeps its start. A fresh model's epoch 0 (an untrained head) is not
 * observed.
 *
 * <p>Its state travels in mid-round checkpoints ({@link #state()}, {@link #saveBest}) so a resumed
 * round compares against the same best.
 */
final class EarlyStopping implements AutoCloseable {

  static final String BEST_FILE = "best-parameters.ndlist";

  private final int patience;
  private double bestLoss = Double.POSITIVE_INFINITY;
  private int bestEpoch = -1;
  private int sinceBest;
  private ParameterSnapshot best;

  EarlyStopping(int patience) {
    this.patience = patience;
  }

  /**
   * Records the validation loss after {@code epoch} of {@code model}; true when training should
   * stop.
   */
  boolean observe(int epoch, double validationLoss, GptModel model) {
    if (validationLoss < bestLoss) {
      bestLoss = validationLoss;
      bestEpoch = epoch;
      sinceBest = 0;
      if (best != null) {
        best.close();
      }
      best = ParameterSnapshot.of(model);
      return false;
    }
    sinceBest++;
    return patience > 0 && sinceBest >= patience;
  }

  /** Writes the best epoch's parameters back into {@code model} (no-op before any observation). */
  void restoreBest(GptModel model) {
    if (best != null) {
      best.restoreInto(model);
    }
  }

  int bestEpoch() {
    return bestEpoch;
  }

  double bestLoss() {
    return bestLoss;
  }

  int evaluationsSinceBest() {
    return sinceBest;
  }

  /** Checkpoint entries of this state ({@code early-stopping.*}). */
  Map<String, String> state() {
    Map<String, String> out = new LinkedHashMap<>();
    if (best != null) {
      out.put("early-stopping.best-epoch", Integer.toString(bestEpoch));
      out.put("early-stopping.best-loss", Double.toString(bestLoss));
      out.put("early-stopping.since-best", Integer.toString(sinceBest));
    }
    return out;
  }

  void saveBest(Path checkpointDir) throws IOException {
    if (best != null) {
      best.save(checkpointDir.resolve(BEST_FILE));
    }
  }

  /**
   * Restores the state a checkpoint recorded ({@code state} from {@link #state()}, the file from
   * {@link #saveBest}).
   */
  void resume(Map<String, String> state, Path checkpointDir, GptModel shapeOf) throws IOException {
    String epoch = state.get("early-stopping.best-epoch");
    Path file = checkpointDir.resolve(BEST_FILE);
    if (epoch == null || !Files.isRegularFile(file)) {
      return;
    }
    bestEpoch = Integer.parseInt(epoch);
    bestLoss = Double.parseDouble(state.get("early-stopping.best-loss"));
    sinceBest = Integer.parseInt(state.getOrDefault("early-stopping.since-best", "0"));
    if (best != null) {
      best.close();
    }
    best = ParameterSnapshot.load(file, shapeOf);
  }

  @Override
  public void close() {
    if (best != null) {
      best.close();
      best = null;
    }
  }
}
