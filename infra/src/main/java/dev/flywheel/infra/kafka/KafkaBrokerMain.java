package dev.flywheel.infra.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;

/**
 * Runs Flywheel's single-node KRaft broker as the main program of its own JVM (see {@link
 * KafkaBrokerProcess}); formats the data directory if it is not formatted yet. SIGTERM (or Ctrl-C)
 * shuts it down cleanly.
 *
 * <pre>
 * java -Xmx256m -cp ... dev.flywheel.infra.kafka.KafkaBrokerMain \
 *     --data-dir DIR --port 9092 --controller-port 9093 [--config key=value]... [--exit-on-stdin-eof]
 * </pre>
 *
 * {@code --exit-on-stdin-eof} ends the broker when its standard input closes, i.e. when the parent
 * process that holds the other end of the pipe dies.
 */
public final class KafkaBrokerMain {

  /** Printed on stdout once the broker is up. */
  public static final String READY_LINE = "FLYWHEEL-KAFKA-BROKER-STARTED";

  private KafkaBrokerMain() {}

  public static void main(String[] args) throws Exception {
    Path dataDir = null;
    int port = 9092;
    int controllerPort = 9093;
    boolean exitOnStdinEof = false;
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--data-dir" -> dataDir = Path.of(args[++i]);
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--controller-port" -> controllerPort = Integer.parseInt(args[++i]);
        case "--config" -> {
          String kv = args[++i];
          int eq = kv.indexOf('=');
          if (eq < 1) {
            usage("--config needs key=value, got " + kv);
          }
          overrides.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
        case "-h", "--help" -> usage(null);
        default -> usage("unknown argument " + args[i]);
      }
    }
    if (dataDir == null) {
      usage("--data-dir is required");
    }
    KafkaConfig config =
        KafkaConfig.fromProps(
            KafkaBrokerSettings.properties(dataDir, port, controllerPort, overrides), false);
    String clusterId = KafkaBrokerSettings.formatIfNeeded(config);
    long t0 = System.nanoTime();
    KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.shutdown();
                  server.awaitShutdown();
                },
                "flywheel-kafka-shutdown"));
    if (exitOnStdinEof) {
      Thread watcher =
          new Thread(
              () -> {
                try (InputStream in = System.in) {
                  byte[] buf = new byte[256];
                  while (in.read(buf) >= 0) {
                    // ignore input; only end of file matters
                  }
                } catch (IOException e) {
                  // treat like end of file
                }
                System.out.println("standard input closed: parent gone, shutting down");
                System.exit(0);
              },
              "flywheel-parent-watch");
      watcher.setDaemon(true);
      watcher.start();
    }
    server.startup();
    System.out.println(
        READY_LINE
            + " bootstrap=127.0.0.1:"
            + port
            + " cluster="
            + clusterId
            + " in "
            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)
            + " ms");
    System.out.flush();
    server.awaitShutdown();
  }

  private static void usage(String error) {
    if (error != null) {
      System.err.println(error);
    }
    System.err.println(
        "usage: KafkaBrokerMain --data-dir DIR [--port 9092] [--controller-port 9093]"
            + " [--config key=value]... [--exit-on-stdin-eof]");
    System.exit(error == null ? 0 : 2);
  }
}
