package dev.flywheel.infra.topics;

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
 * </pre>
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
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--bootstrap-servers", "--bootstrap-server" -> bootstrap = args[++i];
          case "--timeout-seconds" -> timeout = Duration.ofSeconds(Long.parseLong(args[++i]));
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
    } catch (ArrayIndexOutOfBoundsException | NumberFormatException | java.io.IOException e) {
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
      TopicCreator.Result result = TopicCreator.ensureTopics(admin, Topics.ALL, timeout);
      System.out.println(Topics.ALL.size() + " catalogue topics ready at " + bootstrap + ": "
          + TopicCreator.describe(result));
      return 0;
    } catch (RuntimeException e) {
      System.err.println("creating topics at " + bootstrap + " failed: " + e.getMessage());
      return 1;
    }
  }

  private static void usage() {
    System.err.println("usage: CreateTopics --bootstrap-servers HOST:PORT [--timeout-seconds N]"
        + " [--command-config FILE]");
  }
}
