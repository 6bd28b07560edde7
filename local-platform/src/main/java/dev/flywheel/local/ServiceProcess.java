package dev.flywheel.local;

import dev.flywheel.infra.support.MoreFiles;
import dev.flywheel.infra.support.Processes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One Flywheel service as its own JVM: {@code java -Xmx<heap> [-Dk=v...] -jar <jar>}, output to a
 * log file, ready when its health URL answers 200. Stopped with SIGTERM (graceful, then forced), or
 * killed with SIGKILL to test crash recovery. The child dies with this JVM, even on {@code kill
 * -9}.
 */
public final class ServiceProcess implements AutoCloseable {

  private final String name;
  private final Path jar;
  private final String heap;
  private final Map<String, String> systemProperties;
  private final Map<String, String> environment;
  private final Path logFile;
  private final URI healthUrl;
  private final Duration startupTimeout;
  private Process process;

  private ServiceProcess(Builder b) {
    this.name = Objects.requireNonNull(b.name, "name");
    this.jar = Objects.requireNonNull(b.jar, "jar");
    this.heap = b.heap;
    this.systemProperties = Map.copyOf(b.systemProperties);
    this.environment = Map.copyOf(b.environment);
    this.logFile = Objects.requireNonNull(b.logFile, "logFile");
    this.healthUrl = b.healthUrl;
    this.startupTimeout = b.startupTimeout;
  }

  public static Builder builder(String name, Path jar) {
    return new Builder(name, jar);
  }

  public String name() {
    return name;
  }

  public Path logFile() {
    return logFile;
  }

  /** Starts the JVM; returns once the health URL (if any) answers 200. */
  public synchronized ServiceProcess start() {
    if (isRunning()) {
      return this;
    }
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          name + ": no jar at " + jar + " (build it with: mvn -q install -DskipTests)");
    }
    List<String> command = new ArrayList<>();
    command.add(Processes.currentJava().toString());
    command.add("-Xmx" + heap);
    command.add("-XX:+UseSerialGC");
    systemProperties.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.add("-jar");
    command.add(jar.toString());
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      ProcessBuilder builder =
          new ProcessBuilder(Processes.dieWithParent(command))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
      builder.environment().putAll(environment);
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": cannot start", e);
    }
    if (healthUrl != null) {
      awaitHealthy();
    }
    return this;
  }

  private void awaitHealthy() {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + startupTimeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            name
                + " exited with "
                + process.exitValue()
                + " while starting; log "
                + logFile
                + ":\n"
                + tail());
      }
      try {
        HttpResponse<Void> response =
            http.send(
                HttpRequest.newBuilder(healthUrl).timeout(Duration.ofSeconds(2)).GET().build(),
                HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() == 200) {
          return;
        }
      } catch (IOException ignored) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for " + name, e);
      }
      sleep(500);
    }
    throw new IllegalStateException(
        name
            + " not healthy at "
            + healthUrl
            + " after "
            + startupTimeout
            + "; log "
            + logFile
            + ":\n"
            + tail());
  }

  /** The end of the log, for error messages. */
  public String tail() {
    return MoreFiles.tail(logFile, 4096);
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  public synchronized long pid() {
    return process == null ? -1 : process.pid();
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  public synchronized void stop() {
    Processes.destroyTree(process, Duration.ofSeconds(20));
    process = null;
  }

  /** SIGKILL: no shutdown hooks, no flush, no commit. */
  public synchronized void kill() {
    Processes.killTree(process);
    process = null;
  }

  @Override
  public void close() {
    stop();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Settings of a {@link ServiceProcess}. */
  public static final class Builder {
    private final String name;
    private final Path jar;
    private String heap = "256m";
    private final Map<String, String> systemProperties = new LinkedHashMap<>();
    private final Map<String, String> environment = new LinkedHashMap<>();
    private Path logFile;
    private URI healthUrl;
    private Duration startupTimeout = Duration.ofMinutes(3);

    private Builder(String name, Path jar) {
      this.name = name;
      this.jar = jar;
    }

    public Builder heap(String heap) {
      this.heap = heap;
      return this;
    }

    public Builder systemProperty(String key, String value) {
      systemProperties.put(key, value);
      return this;
    }

    public Builder env(String key, String value) {
      environment.put(key, value);
      return this;
    }

    public Builder logFile(Path logFile) {
      this.logFile = logFile;
      return this;
    }

    public Builder healthUrl(String url) {
      this.healthUrl = URI.create(url);
      return this;
    }

    public Builder startupTimeout(Duration timeout) {
      this.startupTimeout = timeout;
      return this;
    }

    public ServiceProcess build() {
      return new ServiceProcess(this);
    }
  }
}
