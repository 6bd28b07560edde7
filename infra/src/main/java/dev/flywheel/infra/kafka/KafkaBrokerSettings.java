package dev.flywheel.infra.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import kafka.server.KafkaConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.metadata.storage.Formatter;

/**
 * The configuration of Flywheel's single-node KRaft broker (combined broker + controller), shared
 * by the in-process {@link EmbeddedKafkaBroker} and the separate-JVM {@link KafkaBrokerProcess};
 * and the storage formatting that {@code kafka-storage format} performs.
 */
public final class KafkaBrokerSettings {

  /** Node id of the single node. */
  public static final int NODE_ID = 1;

  static final String BROKER_LISTENER = "PLAINTEXT";
  static final String CONTROLLER_LISTENER = "CONTROLLER";
  static final String META_PROPERTIES = "meta.properties";

  private KafkaBrokerSettings() {}

  /**
   * Broker properties for a single node on the loopback interface.
   *
   * @param logDir data directory (also the KRaft metadata log directory)
   * @param port client (PLAINTEXT) port
   * @param controllerPort controller (KRaft quorum) port
   * @param overrides any broker property, applied last
   */
  public static Properties properties(
      Path logDir, int port, int controllerPort, Map<String, String> overrides) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
    p.put(
        "listeners",
        BROKER_LISTENER
            + "://127.0.0.1:"
            + port
            + ","
            + CONTROLLER_LISTENER
            + "://127.0.0.1:"
            + controllerPort);
    p.put("advertised.listeners", BROKER_LISTENER + "://127.0.0.1:" + port);
    p.put(
        "listener.security.protocol.map",
        BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
    p.put("controller.listener.names", CONTROLLER_LISTENER);
    p.put("inter.broker.listener.name", BROKER_LISTENER);
    p.put("log.dirs", logDir.toAbsolutePath().toString());
    // single node: every internal topic with replication factor 1 and min ISR 1
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "10");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "10");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("default.replication.factor", "1");
    p.put("min.insync.replicas", "1");
    p.put("num.partitions", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("auto.create.topics.enable", "false");
    // After an unclean end (kill -9) the restarted controller keeps the old broker registration
    // alive
    // until its session times out (default 9 s) before the new incarnation may register. Heartbeats
    // run
    // over loopback inside one process, so a short session is safe and makes such restarts ~4 s.
    p.put("broker.heartbeat.interval.ms", "500");
    p.put("broker.session.timeout.ms", "4000");
    // modest resources: the log cleaner's dedupe buffer defaults to 128 MiB of heap
    p.put("log.cleaner.dedupe.buffer.size", Integer.toString(16 * 1024 * 1024));
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "4");
    p.put("num.recovery.threads.per.data.dir", "2");
    p.putAll(overrides);
    Properties props = new Properties();
    props.putAll(p);
    return props;
  }

  /** Whether the directory already holds a formatted KRaft node. */
  public static boolean isFormatted(Path logDir) {
    return Files.isRegularFile(logDir.resolve(META_PROPERTIES));
  }

  /**
   * Formats the storage of the node (what {@code kafka-storage format --cluster-id X} does) unless
   * it is formatted already.
   *
   * @return the cluster id of the (new or existing) storage
   */
  public static String formatIfNeeded(KafkaConfig config) {
    Path logDir = Path.of(config.logDirs().get(0));
    if (isFormatted(logDir)) {
      return clusterId(logDir).orElseThrow();
    }
    try {
      Files.createDirectories(logDir);
      String clusterId = Uuid.randomUuid().toString();
      new Formatter()
          .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
          .setNodeId(config.nodeId())
          .setClusterId(clusterId)
          .setUnstableFeatureVersionsEnabled(config.unstableFeatureVersionsEnabled())
          .setIgnoreFormatted(true)
          .setControllerListenerName(config.controllerListenerNames().get(0))
          .setMetadataLogDirectory(config.metadataLogDir())
          .setDirectories(List.copyOf(new java.util.TreeSet<>(directories(config))))
          .run();
      return clusterId;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("formatting Kafka storage in " + logDir + " failed", e);
    }
  }

  private static List<String> directories(KafkaConfig config) {
    java.util.List<String> dirs = new java.util.ArrayList<>(config.logDirs());
    if (config.metadataLogDir() != null && !dirs.contains(config.metadataLogDir())) {
      dirs.add(config.metadataLogDir());
    }
    return dirs;
  }

  /** The cluster id recorded in a formatted directory's {@code meta.properties}. */
  public static Optional<String> clusterId(Path logDir) {
    Path meta = logDir.resolve(META_PROPERTIES);
    if (!Files.isRegularFile(meta)) {
      return Optional.empty();
    }
    Properties props = new Properties();
    try (InputStream in = Files.newInputStream(meta)) {
      props.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Optional.ofNullable(props.getProperty("cluster.id"));
  }
}
