package dev.flywheel.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/**
 * Device selection from configuration, so that no model code names a device.
 *
 * <p>Spec strings: {@code auto} (the engine's default: the first GPU if PyTorch sees one, else the
 * CPU), {@code cpu}, {@code gpu} (= {@code gpu:0}), {@code gpu:N}.
 */
public final class Devices {

  private Devices() {}

  public static Device resolve(String spec) {
    String s = spec == null ? "auto" : spec.trim().toLowerCase(java.util.Locale.ROOT);
    if (s.isEmpty() || s.equals("auto")) {
      return Engine.getInstance().defaultDevice();
    }
    if (s.equals("cpu")) {
      return Device.cpu();
    }
    if (s.equals("gpu") || s.equals("cuda")) {
      return requireGpu(0);
    }
    if (s.startsWith("gpu:") || s.startsWith("cuda:")) {
      return requireGpu(Integer.parseInt(s.substring(s.indexOf(':') + 1)));
    }
    throw new IllegalArgumentException(
        "unknown device spec '" + spec + "' (auto, cpu, gpu, gpu:N)");
  }

  /** A root manager on the device named by {@code spec}; models created from it live there. */
  public static NDManager newManager(String spec) {
    return NDManager.newBaseManager(resolve(spec));
  }

  private static Device requireGpu(int id) {
    int gpus = Engine.getInstance().getGpuCount();
    if (id >= gpus) {
      throw new IllegalArgumentException(
          "gpu:" + id + " requested but PyTorch sees " + gpus + " GPU(s)");
    }
    return Device.gpu(id);
  }
}
