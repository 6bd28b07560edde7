package dev.flywheel.infra.kafka;

import dev.flywheel.infra.support.MoreFiles;
import dev.flywheel.infra.support.Ports;
import dev.flywheel.infra.support.Processes;
import dev.flywheel.infra.topics.TopicCreator;
import dev.flywheel.schemas.support.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flywheel's single-node KRaft broker in a JVM of its own ({@link KafkaBrokerMain}): for the local
 * platform, and for tests that must {@code kill -9} a broker.
 *
 * <p>Ports are chosen once (at {@link Builder#build()}), so {@link #start()} after {@link #stop()}
 * or {@link #kill()} brings the broker back on the same ports with the same data directory. Without
 * an explicit data directory a temporary one is used and deleted on {@link #close()}.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaBrokerProcess.class);

  /** Class path resource with the broker JVM's logging (WARN for Kafka) unless one is given. */
  static final String DEFAULT_LOGBACK = "dev/flywheel/infra/kafka/broker-logback.xml";

  private final Path dataDir;
  private final boolean deleteDataDirOnClose;
  private final Path logFile;
  private final int port;
  private final int controllerPort;
  private final String heap;
  private final String classPath;
  private final Path java;
  private final List<String> jvmOptions;
  private final Map<String, String> brokerConfig;
  private final Duration startupTimeout;
  private final boolean dieWithParent;
  private Process process;
  private boolean closed;

  private KafkaBrokerProcess(Builder b) throws IOException {
    this.deleteDataDirOnClose = b.dataDir == null;
    this.dataDir =
        b.dataDir == null ? Files.createTempDirectory("flywheel-kafka-proc-") : b.dataDir;
    this.logFile =
        b.logFile != null
            ? b.logFile
            : (deleteDataDirOnClose
                ? dataDir.resolveSibling(dataDir.getFileName() + ".log")
                : dataDir.resolve("broker.log"));
    int[] free = Ports.freePorts(2);
    this.port = b.port > 0 ? b.port : free[0];
    this.controllerPort =
        b.controllerPort > 0 ? b.controllerPort : (free[1] == this.port ? free[0] : free[1]);
    this.heap = b.heap;
    this.classPath = b.classPath != null ? b.classPath : Processes.currentClassPath();
    this.java = b.java != null ? b.java : Processes.currentJava();
    this.jvmOptions = List.copyOf(b.jvmOptions);
    this.brokerConfig = Map.copyOf(b.brokerConfig);
    this.startupTimeout = b.startupTimeout;
    this.dieWithParent = b.dieWithParent;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Launches the broker JVM (formatting the data directory on first use) and waits until an admin
   * client can describe the cluster. A no-op if it is running.
   *
   * @throws IllegalStateException if the broker does not become ready within the startup timeout or
   *     its process dies; the message carries the tail of the broker's log
   */
  public synchronized KafkaBrokerProcess start() {
    if (closed) {
      throw new IllegalStateException("broker process is closed");
    }
    if (isRunning()) {
      return this;
    }
    long t0 = System.nanoTime();
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.add("-Xmx" + heap);
    command.addAll(jvmOptions);
    if (jvmOptions.stream().noneMatch(o -> o.startsWith("-Dlogback.configurationFile="))) {
      command.add("-Dlogback.configurationFile=" + DEFAULT_LOGBACK);
    }
    command.add("-cp");
    command.add(classPath);
    command.add(KafkaBrokerMain.class.getName());
    command.addAll(
        List.of(
            "--data-dir",
            dataDir.toAbsolutePath().toString(),
            "--port",
            Integer.toString(port),
            "--controller-port",
            Integer.toString(controllerPort)));
    brokerConfig.forEach((k, v) -> command.addAll(List.of("--config", k + "=" + v)));
    if (dieWithParent) {
      command.add("--exit-on-stdin-eof");
    }
    try {
      Files.createDirectories(dataDir);
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      if (!dieWithParent) {
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      }
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot launch Kafka broker process", e);
    }
    awaitReady();
    LOG.info(
        "Kafka broker process (pid {}) ready at {} in {} ms (data {}, log {})",
        process.pid(),
        bootstrapServers(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
        dataDir,
        logFile);
    return this;
  }

  /** Graceful stop (SIGTERM, controlled shutdown); forcibly after 60 s. Keeps the data. */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    Processes.destroyTree(process, Duration.ofSeconds(60));
    process = null;
  }

  /** {@code kill -9} of the broker JVM (and anything it started). Keeps the data. */
  public synchronized void kill() {
    if (process == null) {
      return;
    }
    Processes.killTree(process);
    LOG.info("Kafka broker process at {} killed", bootstrapServers());
    process = null;
  }

  /** Graceful stop, then start on the same ports and data directory. */
  public synchronized KafkaBrokerProcess restart() {
    stop();
    return start();
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Process id of the running broker JVM. */
  public synchronized long pid() {
    if (process == null) {
      throw new IllegalStateException("not running");
    }
    return process.pid();
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public int controllerPort() {
    return controllerPort;
  }

  public Path dataDirectory() {
    return dataDir;
  }

  public Path logFile() {
    return logFile;
  }

  /** Stops the broker; deletes data directory and log if they were temporary. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    stop();
    closed = true;
    if (deleteDataDirOnClose) {
      FileTrees.deleteQuietly(dataDir);
      FileTrees.deleteQuietly(logFile);
    }
  }

  private void awaitReady() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "flywheel-broker-process-check");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    long deadline = System.nanoTime() + startupTimeout.toNanos();
    Exception last = null;
    try (Admin admin = Admin.create(props)) {
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          String tail = MoreFiles.tail(logFile, 6000);
          process = null;
          throw new IllegalStateException(
              "Kafka broker process exited during startup; log "
                  + logFile
                  + " ends with:\n"
                  + tail);
        }
        try {
          String clusterId =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                  .clusterId()
                  .get(3, TimeUnit.SECONDS);
          String ours = KafkaBrokerSettings.clusterId(dataDir).orElse(null);
          if (Objects.equals(clusterId, ours)) {
            // after a restart: wait until every partition has its leader back
            TopicCreator.awaitAllTopicsReady(
                admin, Duration.ofNanos(Math.max(1_000_000_000L, deadline - System.nanoTime())));
            return;
          }
          last =
              new IllegalStateException(
                  "port "
                      + port
                      + " answers with cluster "
                      + clusterId
                      + ", the data directory holds "
                      + ours);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          Processes.killTree(process);
          process = null;
          throw new IllegalStateException("interrupted while waiting for the broker", e);
        } catch (Exception e) {
          last = e;
        }
        sleep(100);
      }
    }
    String tail = MoreFiles.tail(logFile, 6000);
    Processes.killTree(process);
    process = null;
    throw new IllegalStateException(
        "Kafka broker process at "
            + bootstrapServers()
            + " not ready within "
            + startupTimeout
            + " (last error: "
            + last
            + "); log "
            + logFile
            + " ends with:\n"
            + tail);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Options of a {@link KafkaBrokerProcess}. */
  public static final class Builder {
    private Path dataDir;
    private Path logFile;
    private int port;
    private int controllerPort;
    private String heap = "256m";
    private String classPath;
    private Path java;
    private final List<String> jvmOptions = new ArrayList<>(List.of("-XX:+UseSerialGC"));
    private final Map<String, String> brokerConfig = new LinkedHashMap<>();
    private Duration startupTimeout = Duration.ofSeconds(90);
    private boolean dieWithParent = true;

    private Builder() {}

    /**
     * Data directory kept across restarts (and after close); formatted only if not yet formatted.
     */
    public Builder dataDirectory(Path dir) {
      this.dataDir = dir;
      return this;
    }

    /**
     * Where the broker's stdout/stderr go (appended); default next to / inside the data directory.
     */
    public Builder logFile(Path file) {
      this.logFile = file;
      return this;
    }

    /** Client port; default a free one, chosen once. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** Controller port; default a free one, chosen once. */
    public Builder controllerPort(int port) {
      this.controllerPort = port;
      return this;
    }

    /** Maximum heap, as for {@code -Xmx}; default {@code 256m}. */
    public Builder heap(String heap) {
      this.heap = Objects.requireNonNull(heap);
      return this;
    }

    /** Class path of the broker JVM; default the current JVM's. */
    public Builder classPath(String classPath) {
      this.classPath = classPath;
      return this;
    }

    /** The {@code java} executable; default the current JVM's. */
    public Builder javaExecutable(Path java) {
      this.java = java;
      return this;
    }

    /** An extra JVM option (e.g. {@code -Dlogback.configurationFile=...}). */
    public Builder jvmOption(String option) {
      this.jvmOptions.add(option);
      return this;
    }

    /** An extra broker property. */
    public Builder brokerConfig(String key, String value) {
      this.brokerConfig.put(key, value);
      return this;
    }

    public Builder startupTimeout(Duration timeout) {
      this.startupTimeout = timeout;
      return this;
    }

    /**
     * Whether the broker ends when this JVM ends, even by {@code kill -9} (default true). Turn off
     * for a broker that must outlive its launcher.
     */
    public Builder dieWithParent(boolean dieWithParent) {
      this.dieWithParent = dieWithParent;
      return this;
    }

    /** Chooses the ports; does not start anything. */
    public KafkaBrokerProcess build() {
      try {
        return new KafkaBrokerProcess(this);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** {@link #build()} and {@link KafkaBrokerProcess#start()}. */
    public KafkaBrokerProcess start() {
      return build().start();
    }
  }
}
