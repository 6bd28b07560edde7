package dev.flywheel.model;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * PyTorch/DJL process settings, applied before the engine first loads: first thing in the {@code
 * main} of every service that runs a model (policy trainer, reward trainer, serving, rollout
 * workers) and of the benchmarks:
 *
 * <ul>
 *   <li>{@code OMP_WAIT_POLICY=PASSIVE} unless the environment sets it: libgomp reads it once when
 *       PyTorch's natives load, and its spin-waiting threads made steps ~20x slower on 2 shared
 *       cores (set through glibc's {@code setenv}, as the model module's benchmark does);
 *   <li>{@code ai.djl.offline=true} (fail fast instead of trying to download natives), {@code
 *       ai.djl.pytorch.num_interop_threads=1} and {@code ai.djl.pytorch.num_threads=<cores>} unless
 *       given as {@code -D} options.
 * </ul>
 */
public final class NativeRuntime {

  private NativeRuntime() {}

  /** glibc's environment. */
  interface CLibrary extends Library {
    int setenv(String name, String value, int overwrite);

    String getenv(String name);
  }

  /** Applies the defaults; returns the effective OMP_WAIT_POLICY (or why it could not be set). */
  public static String configure() {
    String missing =
        missingNative(
            NativeRuntime.class.getClassLoader().getResource(CPU_NATIVE_MARKER) != null,
            System.getenv("PYTORCH_LIBRARY_PATH"));
    if (missing != null) {
      throw new IllegalStateException(missing);
    }
    setDefault("ai.djl.offline", "true");
    setDefault("ai.djl.pytorch.num_interop_threads", "1");
    setDefault(
        "ai.djl.pytorch.num_threads", Integer.toString(Runtime.getRuntime().availableProcessors()));
    try {
      CLibrary libc = Native.load("c", CLibrary.class);
      if (libc.getenv("OMP_WAIT_POLICY") == null) {
        libc.setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
      }
      return libc.getenv("OMP_WAIT_POLICY");
    } catch (Throwable e) {
      return "unchanged (" + e + ")";
    }
  }

  /** A file inside DJL's {@code pytorch-native-cpu} jar: the CPU native is on the class path. */
  static final String CPU_NATIVE_MARKER = "native/lib/pytorch.properties";

  /**
   * Why PyTorch cannot load, or null: a {@code -Dcuda} build packages no native and needs {@code
   * PYTORCH_LIBRARY_PATH} (DJL alone would say only "Offline mode is enabled").
   */
  static String missingNative(boolean cpuNativeOnClassPath, String pytorchLibraryPath) {
    if (cpuNativeOnClassPath || (pytorchLibraryPath != null && !pytorchLibraryPath.isBlank())) {
      return null;
    }
    return "no PyTorch native library: this build packages none (built with -Dcuda) and"
        + " PYTORCH_LIBRARY_PATH is not set; point it at the lib/ folder of a libtorch 2.7.1 build"
        + " (with PYTORCH_VERSION=2.7.1 and PYTORCH_FLAVOR=cu128 or cpu), see services/model/README.md";
  }

  private static void setDefault(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
