package dev.flywheel.policy;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * Settings PyTorch must see before its native libraries load (the first DJL engine use), applied by
 * {@link Application#main} and the benchmark when the operator has not set them:
 *
 * <ul>
 *   <li>{@code OMP_WAIT_POLICY=PASSIVE} in the process environment (libgomp reads it once at load;
 *       spin-waiting OpenMP threads on 2 shared cores made steps ~20× slower);
 *   <li>{@code ai.djl.offline=true} (never download anything), {@code
 *       ai.djl.pytorch.num_interop_threads=1}, {@code ai.djl.pytorch.num_threads=<cores>} system
 *       properties.
 * </ul>
 *
 * Setting them on the command line ({@code OMP_WAIT_POLICY=PASSIVE java
 * -Dai.djl.pytorch.num_threads=2 ...}) takes precedence.
 */
public final class NativeRuntime {

  /** glibc's environment functions. */
  interface CLibrary extends Library {
    int setenv(String name, String value, int overwrite);

    String getenv(String name);
  }

  private NativeRuntime() {}

  /** Applies the defaults; returns the OMP_WAIT_POLICY in effect. */
  public static String configure() {
    setDefault("ai.djl.offline", "true");
    setDefault("ai.djl.pytorch.num_interop_threads", "1");
    setDefault(
        "ai.djl.pytorch.num_threads", String.valueOf(Runtime.getRuntime().availableProcessors()));
    try {
      CLibrary libc = Native.load("c", CLibrary.class);
      if (libc.getenv("OMP_WAIT_POLICY") == null) {
        libc.setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
      }
      return libc.getenv("OMP_WAIT_POLICY");
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      return System.getenv("OMP_WAIT_POLICY");
    }
  }

  private static void setDefault(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
