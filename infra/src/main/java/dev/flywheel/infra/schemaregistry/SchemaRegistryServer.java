package dev.flywheel.infra.schemaregistry;

import dev.flywheel.infra.support.MoreFiles;
import dev.flywheel.infra.support.Ports;
import dev.flywheel.infra.support.Processes;
import dev.flywheel.schemas.support.FileTrees;
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
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real schema registry server (Apicurio Registry, see {@link RegistryDistribution}) in a process
 * of its own, with its Confluent-compatible API at {@link #url()} and global compatibility
 * BACKWARD.
 *
 * <p>Storage: in memory by default. With {@link Builder#dataDirectory(Path)} the registry keeps its
 * schemas in an H2 file database in that directory ({@code
 * apicurio.datasource.url=jdbc:h2:file:...}; {@code quarkus.datasource.jdbc.url} on 2.x), so ids
 * and versions survive a restart. Stop it with {@link #stop()}/{@link #close()}: after {@code kill
 * -9} H2 may lose its last second of writes.
 *
 * <p>The server process ends with this JVM, even if this JVM is killed ({@code /bin/sh} wrapper
 * that watches a pipe), and {@link #close()} ends it explicitly.
 */
public final class SchemaRegistryServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryServer.class);
  private static final Pattern COMPATIBILITY =
      Pattern.compile("\"compatibility(?:Level)?\"\\s*:\\s*\"([A-Z_]+)\"");
  static final String CCOMPAT_PATH = "/apis/ccompat/v7";

  private final Builder options;
  private final int port;
  private final int managementPort;
  private final Path workDir;
  private final boolean deleteWorkDirOnClose;
  private final Path logFile;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private RegistryDistribution distribution;
  private Process process;
  private boolean closed;

  private SchemaRegistryServer(Builder b) throws IOException {
    this.options = b;
    int[] free = Ports.freePorts(2);
    this.port = b.port > 0 ? b.port : free[0];
    this.managementPort =
        b.managementPort > 0 ? b.managementPort : (free[1] == this.port ? free[0] : free[1]);
    if (b.dataDir != null) {
      Files.createDirectories(b.dataDir);
      this.workDir = b.dataDir;
      this.deleteWorkDirOnClose = false;
    } else {
      this.workDir = Files.createTempDirectory("flywheel-registry-");
      this.deleteWorkDirOnClose = b.logFile == null;
    }
    this.logFile = b.logFile != null ? b.logFile : workDir.resolve("registry.log");
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts the server (unpacking it on first use) and waits until its API answers and its global
   * compatibility is BACKWARD. A no-op if it is running.
   */
  public synchronized SchemaRegistryServer start() {
    if (closed) {
      throw new IllegalStateException("registry is closed");
    }
    if (process != null && process.isAlive()) {
      return this;
    }
    long t0 = System.nanoTime();
    if (distribution == null) {
      distribution =
          options.distribution != null ? options.distribution : RegistryDistribution.resolve();
    }
    long launched = System.nanoTime();
    List<String> command = command(distribution);
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      ProcessBuilder pb =
          new ProcessBuilder(Processes.dieWithParent(command))
              .directory(workDir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot launch " + distribution, e);
    }
    try {
      awaitReady();
      ensureBackwardCompatibility();
    } catch (RuntimeException e) {
      Processes.killTree(process);
      process = null;
      throw e;
    }
    LOG.info(
        "Schema registry (Apicurio {}) ready at {} in {} ms ({} ms to prepare), {}",
        distribution.version(),
        url(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
        TimeUnit.NANOSECONDS.toMillis(launched - t0),
        options.dataDir == null ? "in memory" : "data in " + options.dataDir);
    return this;
  }

  /**
   * Stops the server (keeping a data directory); {@link #start()} brings it back on the same port.
   */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    Processes.destroyTree(process, Duration.ofSeconds(15));
    process = null;
  }

  /** Kills the server process tree at once ({@code kill -9}). */
  public synchronized void kill() {
    Processes.killTree(process);
    process = null;
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** The Confluent-compatible API: {@code http://127.0.0.1:PORT/apis/ccompat/v7}. */
  public String url() {
    return baseUrl() + CCOMPAT_PATH;
  }

  /** {@code http://127.0.0.1:PORT}, the root of all of Apicurio's APIs. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Port of Quarkus' management interface (health at {@code /health}), loopback only. */
  public int managementPort() {
    return managementPort;
  }

  /** The Apicurio version that runs (known once started). */
  public synchronized String version() {
    return distribution == null ? null : distribution.version();
  }

  /** Whether schemas survive a restart (i.e. a data directory was given). */
  public boolean persistent() {
    return options.dataDir != null;
  }

  public Path logFile() {
    return logFile;
  }

  /** Ends the server process (and its children); deletes its temporary work directory. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    stop();
    closed = true;
    if (deleteWorkDirOnClose) {
      FileTrees.deleteQuietly(workDir);
    }
  }

  private List<String> command(RegistryDistribution d) {
    List<String> c = new ArrayList<>();
    c.add(d.java().toString());
    c.add("-Xmx" + options.heap);
    c.add("-XX:+UseSerialGC");
    c.add("-Dquarkus.http.host=127.0.0.1");
    c.add("-Dquarkus.http.port=" + port);
    // The management interface (health, metrics) is enabled at build time in Apicurio 3.x, so
    // quarkus.management.enabled=false does not switch it off: it would bind 0.0.0.0:9000 and a
    // second
    // registry on the machine would fail to start. Give it a private loopback port instead.
    c.add("-Dquarkus.management.enabled=false");
    c.add("-Dquarkus.management.host=127.0.0.1");
    c.add("-Dquarkus.management.port=" + managementPort);
    c.add("-Dquarkus.http.access-log.enabled=false");
    String prefix = d.legacy() ? "registry" : "apicurio";
    c.add("-D" + prefix + ".rules.global.compatibility=BACKWARD");
    if (options.dataDir != null) {
      // both lines store in H2 (in memory by default); a file URL makes it persistent
      String url = "jdbc:h2:file:" + options.dataDir.toAbsolutePath().resolve("registry");
      c.add(
          d.legacy() ? "-Dquarkus.datasource.jdbc.url=" + url : "-Dapicurio.datasource.url=" + url);
    }
    c.addAll(options.jvmOptions);
    c.add("-jar");
    c.add(d.runnerJar().toString());
    return c;
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + options.startupTimeout.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "schema registry process exited during startup (status "
                + process.exitValue()
                + "); "
                + logTail());
      }
      try {
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(URI.create(url() + "/subjects"))
                    .timeout(Duration.ofSeconds(5))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return;
        }
        last = "HTTP " + response.statusCode() + ": " + response.body();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the schema registry", e);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the schema registry", e);
      }
    }
    throw new IllegalStateException(
        "schema registry at "
            + url()
            + " not ready within "
            + options.startupTimeout
            + " (last: "
            + last
            + "); "
            + logTail());
  }

  private void ensureBackwardCompatibility() {
    String level = globalCompatibility();
    if (!"BACKWARD".equals(level)) {
      LOG.info("Global compatibility of the registry is {}; setting BACKWARD", level);
      HttpResponse<String> put =
          send(
              HttpRequest.newBuilder(URI.create(url() + "/config"))
                  .timeout(Duration.ofSeconds(10))
                  .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                  .PUT(HttpRequest.BodyPublishers.ofString("{\"compatibility\":\"BACKWARD\"}"))
                  .build());
      if (put.statusCode() != 200) {
        throw new IllegalStateException(
            "cannot set global compatibility BACKWARD: HTTP "
                + put.statusCode()
                + " "
                + put.body());
      }
      level = globalCompatibility();
      if (!"BACKWARD".equals(level)) {
        throw new IllegalStateException(
            "global compatibility is " + level + " after setting BACKWARD");
      }
    }
  }

  /** The registry's global compatibility level as its {@code GET /config} reports it. */
  public String globalCompatibility() {
    HttpResponse<String> response =
        send(
            HttpRequest.newBuilder(URI.create(url() + "/config"))
                .timeout(Duration.ofSeconds(10))
                .GET()
                .build());
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          "GET " + url() + "/config: HTTP " + response.statusCode() + " " + response.body());
    }
    Matcher m = COMPATIBILITY.matcher(response.body());
    return m.find() ? m.group(1) : null;
  }

  private HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(request.method() + " " + request.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private String logTail() {
    return "log " + logFile + " ends with:\n" + MoreFiles.tail(logFile, 6000);
  }

  /** Options of a {@link SchemaRegistryServer}. */
  public static final class Builder {
    private int port;
    private int managementPort;
    private Path dataDir;
    private Path logFile;
    private String heap = "320m";
    private Duration startupTimeout = Duration.ofSeconds(90);
    private final List<String> jvmOptions = new ArrayList<>();
    private RegistryDistribution distribution;

    private Builder() {}

    /** HTTP port; default a free one, chosen once. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** Port of the management interface; default a free one, chosen once. */
    public Builder managementPort(int port) {
      this.managementPort = port;
      return this;
    }

    /** Keep schemas across restarts in this directory (Apicurio 3.x); default in memory. */
    public Builder dataDirectory(Path dir) {
      this.dataDir = dir;
      return this;
    }

    /**
     * Where the server's stdout/stderr go; default {@code registry.log} in its work/data directory.
     */
    public Builder logFile(Path file) {
      this.logFile = file;
      return this;
    }

    /** Maximum heap, as for {@code -Xmx}; default {@code 320m}. */
    public Builder heap(String heap) {
      this.heap = Objects.requireNonNull(heap);
      return this;
    }

    /** How long to wait for the API to answer; default 90 s. */
    public Builder startupTimeout(Duration timeout) {
      this.startupTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** An extra JVM option or {@code -Dkey=value} for the server. */
    public Builder jvmOption(String option) {
      this.jvmOptions.add(option);
      return this;
    }

    /**
     * A specific distribution (version and Java); default {@link RegistryDistribution#resolve()}.
     */
    public Builder distribution(RegistryDistribution distribution) {
      this.distribution = distribution;
      return this;
    }

    /** Chooses the port; does not start anything. */
    public SchemaRegistryServer build() {
      try {
        return new SchemaRegistryServer(this);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** {@link #build()} and {@link SchemaRegistryServer#start()}. */
    public SchemaRegistryServer start() {
      SchemaRegistryServer server = build();
      try {
        return server.start();
      } catch (RuntimeException e) {
        server.close();
        throw e;
      }
    }
  }
}
