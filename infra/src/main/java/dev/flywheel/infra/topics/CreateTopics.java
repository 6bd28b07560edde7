package dev.flywheel.infra.topics;

import dev.flywheel.schemas.topics.TopicReplication;
import dev.flywheel.schemas.topics.Topics;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Operator command: creates (or brings up to date) every topic of the catalogue.
 *
 * <pre>
 * java -cp ... dev.flywheel.infra.topics.CreateTopics --bootstrap-servers HOST:PORT
 *     [--timeout-seconds 60] [--command-config client.properties]
 *     [--replication-factor 3] [--min-insync-replicas 2] [--fail-on-replication-shortfall]
 * </pre>
 *
 * <p>The replication defaults to {@link TopicReplication#PRODUCTION} (3 replicas,
 * min.insync.replicas 2); with only {@code --replication-factor N}, min.insync.replicas is the
 * smaller of 2 and N. A single-broker cluster needs {@code --replication-factor 1}. Existing topics
 * below the asked replication are reported; with {@code --fail-on-replication-shortfall} they fail
 * the command (exit status 1).
 */
public final class CreateTopics {

  private CreateTopics() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command; returns the exit status. */
  public static int run(String[] args) {
    String bootstrap = null;
    Duration timeout = TopicCreator.DEFAULT_TIMEOUT;
    Properties props = new Properties();
    Integer factor = null;
    Integer minInsync = null;
    boolean failOnShortfall = false;
    TopicReplication replication;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--bootstrap-servers", "--bootstrap-server" -> bootstrap = args[++i];
          case "--timeout-seconds" -> timeout = Duration.ofSeconds(Long.parseLong(args[++i]));
          case "--replication-factor" -> factor = Integer.parseInt(args[++i]);
          case "--min-insync-replicas" -> minInsync = Integer.parseInt(args[++i]);
          case "--fail-on-replication-shortfall" -> failOnShortfall = true;
          case "--command-config" -> {
            try (var in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(args[++i]))) {
              props.load(in);
            }
          }
          case "-h", "--help" -> {
            usage();
            return 0;
          }
          default -> {
            System.err.println("unknown argument " + args[i]);
            usage();
            return 2;
          }
        }
      }
      replication =
          factor == null && minInsync == null
              ? TopicReplication.PRODUCTION
              : new TopicReplication(
                  factor == null ? TopicReplication.PRODUCTION.factor() : factor,
                  minInsync == null
                      ? Math.min(TopicReplication.PRODUCTION.minInsyncReplicas(), factor)
                      : minInsync);
    } catch (ArrayIndexOutOfBoundsException | IllegalArgumentException | java.io.IOException e) {
      System.err.println("bad arguments: " + e.getMessage());
      usage();
      return 2;
    }
    if (bootstrap == null) {
      System.err.println("--bootstrap-servers is required");
      usage();
      return 2;
    }
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "flywheel-create-topics");
    try (Admin admin = Admin.create(props)) {
      TopicCreator.Result result =
          TopicCreator.ensureTopics(admin, Topics.ALL, replication, timeout, failOnShortfall);
      System.out.println(
          Topics.ALL.size()
              + " catalogue topics ready at "
              + bootstrap
              + " ("
              + replication
              + "): "
              + TopicCreator.describe(result));
      return 0;
    } catch (RuntimeException e) {
      System.err.println("creating topics at " + bootstrap + " failed: " + e.getMessage());
      return 1;
    }
  }

  private static void usage() {
    System.err.println(
        "usage: CreateTopics --bootstrap-servers HOST:PORT [--timeout-seconds N]"
            + " [--command-config FILE] [--replication-factor N (default 3)]"
            + " [--min-insync-replicas N (default min(2, replication factor))]"
            + " [--fail-on-replication-shortfall]");
  }
}
