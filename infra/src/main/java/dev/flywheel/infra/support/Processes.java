package dev.flywheel.infra.support;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Starting and ending child processes (and their descendants). */
public final class Processes {

  private static final Path SH = Path.of("/bin/sh");

  private Processes() {}

  /** The {@code java} launcher of the running JVM. */
  public static Path currentJava() {
    return Path.of(System.getProperty("java.home"), "bin", isWindows() ? "java.exe" : "java");
  }

  public static boolean isWindows() {
    return System.getProperty("os.name", "").toLowerCase().startsWith("windows");
  }

  /**
   * Wraps a command so that it is terminated when this JVM dies, even by {@code kill -9}: a small
   * {@code /bin/sh} wrapper starts the command and kills it when its stdin (a pipe from this JVM)
   * reaches end of file. Without {@code /bin/sh} (Windows) the command is returned unchanged.
   */
  public static List<String> dieWithParent(List<String> command) {
    if (isWindows() || !Files.isExecutable(SH)) {
      return command;
    }
    List<String> wrapped = new ArrayList<>();
    wrapped.add(SH.toString());
    wrapped.add("-c");
    // fd 3 keeps the parent's pipe: asynchronous lists get /dev/null as stdin in a non-interactive
    // sh
    wrapped.add(
        "exec 3<&0; \"$@\" </dev/null 3<&- & c=$!; "
            + "(cat <&3 >/dev/null 2>&1; kill $c 2>/dev/null) & "
            + "wait $c");
    wrapped.add("flywheel-child");
    wrapped.addAll(command);
    return wrapped;
  }

  /**
   * Ends a process and its descendants: SIGTERM to all, then after {@code grace} SIGKILL to
   * whatever is left. Waits until the process has exited.
   */
  public static void destroyTree(Process process, Duration grace) {
    if (process == null) {
      return;
    }
    List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
    tree.forEach(ProcessHandle::destroy);
    process.destroy();
    long deadline = System.nanoTime() + grace.toNanos();
    for (ProcessHandle handle : tree) {
      waitUntil(handle, deadline);
    }
    try {
      if (!process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        killTree(process);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      killTree(process);
    }
    tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }

  /** SIGKILL to a process and all its descendants; waits until the process has exited. */
  public static void killTree(Process process) {
    if (process == null) {
      return;
    }
    List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
    tree.forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    for (ProcessHandle handle : tree) {
      waitUntil(handle, deadline);
    }
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void waitUntil(ProcessHandle handle, long deadlineNanos) {
    try {
      long left = deadlineNanos - System.nanoTime();
      if (left > 0) {
        handle.onExit().get(left, TimeUnit.NANOSECONDS);
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The class path of the running JVM. */
  public static String currentClassPath() {
    return System.getProperty("java.class.path", "");
  }

  /** Joins class path entries with the platform separator. */
  public static String classPath(List<Path> entries) {
    return String.join(File.pathSeparator, entries.stream().map(Path::toString).toList());
  }
}
