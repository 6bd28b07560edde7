package dev.flywheel.infra.local;

import dev.flywheel.infra.kafka.KafkaBrokerProcess;
import dev.flywheel.infra.registry.SchemaRegistryServer;
import dev.flywheel.infra.topics.TopicCreator;
import dev.flywheel.schemas.topics.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * The local platform: a KRaft broker and a schema registry as their own JVMs, with every catalogue
 * topic created, data kept under one directory so that a restart continues where it stopped. Ctrl-C
 * stops everything it started.
 *
 * <p>Usage: {@code LocalPlatform [--data-dir DIR] [--kafka-port 9092] [--registry-port 8081]}
 */
public final class LocalPlatform {

  private LocalPlatform() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = parse(args);
    Path dataDir = Path.of(options.getOrDefault("data-dir", ".flywheel")).toAbsolutePath();
    int kafkaPort = Integer.parseInt(options.getOrDefault("kafka-port", "9092"));
    int registryPort = Integer.parseInt(options.getOrDefault("registry-port", "8081"));
    Files.createDirectories(dataDir.resolve("logs"));
    List<AutoCloseable> started = new ArrayList<>();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      progress("stopping (data kept in " + dataDir + ")");
      for (int i = started.size() - 1; i >= 0; i--) {
        try {
          started.get(i).close();
        } catch (Exception e) {
          System.err.println("while stopping: " + e);
        }
      }
      stopped.countDown();
    }, "local-platform-shutdown"));

    progress("[1/3] starting Kafka broker (KRaft) on 127.0.0.1:" + kafkaPort);
    KafkaBrokerProcess broker = KafkaBrokerProcess.builder()
        .dataDirectory(dataDir.resolve("kafka"))
        .logFile(dataDir.resolve("logs/kafka.log"))
        .port(kafkaPort)
        .heap("384m")
        .build();
    started.add(broker);
    broker.start();
    progress("      broker ready at " + broker.bootstrapServers());

    progress("[2/3] starting schema registry on 127.0.0.1:" + registryPort + " (first run unpacks it)");
    SchemaRegistryServer registry = SchemaRegistryServer.builder()
        .port(registryPort)
        .dataDirectory(dataDir.resolve("registry"))
        .logFile(dataDir.resolve("logs/registry.log"))
        .start();
    started.add(registry);
    progress("      registry ready at " + registry.url());

    progress("[3/3] creating topics from the catalogue");
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      TopicCreator.Result result = TopicCreator.ensureTopics(admin, Topics.ALL);
      progress("      " + Topics.ALL.size() + " topics ready (" + result.created().size() + " created)");
    }

    System.out.println();
    System.out.println("Flywheel local platform is up. Ctrl-C stops it.");
    System.out.println("  FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS=" + broker.bootstrapServers());
    System.out.println("  FLYWHEEL_REGISTRY_URL=" + registry.url());
    System.out.println("  data and logs: " + dataDir);
    stopped.await();
  }

  private static void progress(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new java.util.HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: LocalPlatform [--data-dir DIR] [--kafka-port P] [--registry-port P]");
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }

}
