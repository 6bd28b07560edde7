package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A copy of every parameter of a model, taken at one moment (e.g. the epoch with the best
 * validation loss, for early stopping) and written back later with {@link #restoreInto}. It lives
 * in its own sub-manager of the model's, so it holds memory until {@link #close()}; {@link
 * #save}/{@link #load} keep it across a restart (NDList encoding: shapes, types and values).
 */
public final class ParameterSnapshot implements AutoCloseable {

  private final NDManager manager;
  private final NDList arrays;

  private ParameterSnapshot(NDManager manager, NDList arrays) {
    this.manager = manager;
    this.arrays = arrays;
  }

  /** Copies {@code model}'s parameters (in declaration order). */
  public static ParameterSnapshot of(GptModel model) {
    NDManager own = model.manager().newSubManager();
    NDList copies = new NDList();
    try (InferenceMode ignored = InferenceMode.enter()) {
      for (Parameter p : model.getParameters().values()) {
        NDArray copy = p.getArray().duplicate();
        copy.attach(own);
        copies.add(copy);
      }
    }
    return new ParameterSnapshot(own, copies);
  }

  /** Overwrites {@code model}'s parameters with this snapshot's values; shapes must match. */
  public void restoreInto(GptModel model) {
    List<Parameter> targets = new ArrayList<>(model.getParameters().values());
    if (targets.size() != arrays.size()) {
      throw new IllegalArgumentException(
          "snapshot has " + arrays.size() + " parameters, model " + targets.size());
    }
    try (InferenceMode ignored = InferenceMode.enter()) {
      for (int i = 0; i < targets.size(); i++) {
        NDArray target = targets.get(i).getArray();
        NDArray source = arrays.get(i);
        if (!target.getShape().equals(source.getShape())) {
          throw new IllegalArgumentException(
              "parameter "
                  + i
                  + " has shape "
                  + target.getShape()
                  + " in the model, "
                  + source.getShape()
                  + " in the snapshot");
        }
        NDArray copy = source.duplicate().toDevice(target.getDevice(), false);
        target.intern(copy);
        target.setRequiresGradient(targets.get(i).requiresGradient());
      }
    }
  }

  /** Writes the snapshot to {@code file}. */
  public void save(Path file) throws IOException {
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
      arrays.encode(out);
    }
  }

  /** Reads a snapshot written by {@link #save} into a sub-manager of {@code model}'s manager. */
  public static ParameterSnapshot load(Path file, GptModel model) throws IOException {
    NDManager own = model.manager().newSubManager();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      return new ParameterSnapshot(own, NDList.decode(own, in));
    } catch (IOException | RuntimeException e) {
      own.close();
      throw e;
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
