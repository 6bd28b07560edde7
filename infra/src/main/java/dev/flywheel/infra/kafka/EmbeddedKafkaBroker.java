package dev.flywheel.infra.kafka;

import dev.flywheel.infra.support.Ports;
import dev.flywheel.infra.topics.TopicCreator;
import dev.flywheel.schemas.support.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka (KRaft, combined broker + controller) running inside this JVM.
 *
 * <p>Ports and the log directory are chosen once, at construction, so that the broker can be
 * stopped and started again on the same ports with its data intact. {@link #close()} stops it and
 * deletes the (temporary) log directory.
 *
 * <p>Kafka ends the process with {@code Exit.halt} on fatal errors. Because that would kill a test
 * JVM without a word, the first start of an embedded broker replaces Kafka's exit and halt
 * procedures with ones that log the reason and throw. Use {@link KafkaBrokerProcess} where a real
 * process end is wanted.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
  private static volatile boolean exitProceduresInstalled;

  private final Path logDir;
  private final boolean deleteLogDirOnClose;
  private final int port;
  private final int controllerPort;
  private final Map<String, String> overrides;
  private KafkaRaftServer server;
  private String clusterId;
  private boolean closed;

  /** A broker on free loopback ports with a temporary log directory. */
  public EmbeddedKafkaBroker() {
    this(Map.of());
  }

  /** A broker on free loopback ports with a temporary log directory and extra broker properties. */
  public EmbeddedKafkaBroker(Map<String, String> brokerOverrides) {
    this(null, 0, 0, brokerOverrides);
  }

  /**
   * @param logDir data directory; {@code null} for a temporary one that is deleted on close (a
   *     given directory is kept)
   * @param port client port, 0 for a free one
   * @param controllerPort controller port, 0 for a free one
   * @param brokerOverrides extra broker properties, applied last
   */
  public EmbeddedKafkaBroker(
      Path logDir, int port, int controllerPort, Map<String, String> brokerOverrides) {
    int[] free = Ports.freePorts(2);
    this.port = port > 0 ? port : free[0];
    this.controllerPort =
        controllerPort > 0 ? controllerPort : (free[1] == this.port ? free[0] : free[1]);
    this.overrides = Map.copyOf(brokerOverrides);
    try {
      this.deleteLogDirOnClose = logDir == null;
      this.logDir = logDir == null ? Files.createTempDirectory("flywheel-kafka-") : logDir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Formats the log directory if needed and starts the broker; a no-op if it is running. */
  public synchronized EmbeddedKafkaBroker start() {
    if (closed) {
      throw new IllegalStateException("broker is closed");
    }
    if (server != null) {
      return this;
    }
    installExitProcedures();
    long t0 = System.nanoTime();
    Properties props = KafkaBrokerSettings.properties(logDir, port, controllerPort, overrides);
    KafkaConfig config = KafkaConfig.fromProps(props, false);
    clusterId = KafkaBrokerSettings.formatIfNeeded(config);
    KafkaRaftServer s = new KafkaRaftServer(config, Time.SYSTEM);
    try {
      s.startup();
    } catch (RuntimeException e) {
      shutdownQuietly(s);
      throw new IllegalStateException("Kafka broker failed to start on port " + port, e);
    }
    server = s;
    awaitReady(Duration.ofSeconds(60));
    LOG.info(
        "Kafka broker started at {} in {} ms (log dir {})",
        bootstrapServers(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
        logDir);
    return this;
  }

  /** Stops the broker (controlled shutdown), keeping its data; a no-op if it is not running. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    long t0 = System.nanoTime();
    KafkaRaftServer s = server;
    server = null;
    shutdownQuietly(s);
    LOG.info(
        "Kafka broker at {} stopped in {} ms",
        bootstrapServers(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
  }

  /** Stops and starts the broker again, on the same ports and with the same data. */
  public synchronized EmbeddedKafkaBroker restart() {
    stop();
    return start();
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** {@code 127.0.0.1:PORT}, valid (the same) whether or not the broker is running. */
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public int controllerPort() {
    return controllerPort;
  }

  public Path logDir() {
    return logDir;
  }

  /** The cluster id of the formatted storage; {@code null} before the first start. */
  public synchronized String clusterId() {
    return clusterId;
  }

  /** Stops the broker and deletes its log directory if it was a temporary one. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    stop();
    closed = true;
    if (deleteLogDirOnClose) {
      FileTrees.deleteQuietly(logDir);
    }
  }

  private void awaitReady(Duration timeout) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "flywheel-embedded-broker-check");
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Admin admin = Admin.create(props)) {
      while (true) {
        try {
          String id =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs(5000))
                  .clusterId()
                  .get(6, TimeUnit.SECONDS);
          if (clusterId.equals(id)) {
            // after a restart: wait until every partition has its leader back
            TopicCreator.awaitAllTopicsReady(
                admin, Duration.ofNanos(Math.max(1_000_000_000L, deadline - System.nanoTime())));
            return;
          }
          throw new IllegalStateException(
              "port " + port + " answers with cluster " + id + ", not this broker's " + clusterId);
        } catch (IllegalStateException e) {
          throw e;
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "Kafka broker at " + bootstrapServers() + " not ready within " + timeout, e);
          }
          try {
            Thread.sleep(100);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", ie);
          }
        }
      }
    }
  }

  private static void shutdownQuietly(KafkaRaftServer s) {
    try {
      s.shutdown();
      s.awaitShutdown();
    } catch (RuntimeException e) {
      LOG.warn("Kafka broker shutdown failed", e);
    }
  }

  private static void installExitProcedures() {
    if (exitProceduresInstalled) {
      return;
    }
    synchronized (EmbeddedKafkaBroker.class) {
      if (exitProceduresInstalled) {
        return;
      }
      Exit.setHaltProcedure(
          (status, message) -> {
            IllegalStateException e =
                new IllegalStateException(
                    "Kafka asked to halt the JVM (status " + status + "): " + message);
            LOG.error("Embedded Kafka broker hit a fatal error; NOT halting the JVM", e);
            throw e;
          });
      Exit.setExitProcedure(
          (status, message) -> {
            IllegalStateException e =
                new IllegalStateException(
                    "Kafka asked to exit the JVM (status " + status + "): " + message);
            LOG.error("Embedded Kafka broker hit a fatal error; NOT exiting the JVM", e);
            throw e;
          });
      exitProceduresInstalled = true;
    }
  }
}
