package dev.flywheel.local;

import dev.flywheel.simulator.Simulator;
import dev.flywheel.simulator.SimulatorConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The local platform, the README's run command: broker, schema registry, topics, every service as
 * its own JVM, then the traffic simulator playing the product apps. Data under one directory, so a
 * restart continues; Ctrl-C stops everything it started.
 *
 * <p>Usage: {@code LocalPlatform [--data-dir .flywheel] [--kafka-port 9092] [--registry-port 8081]
 * [--base-port 8090] [--simulator true|false] [--simulator-count 100000]}
 */
public final class LocalPlatform {

  private LocalPlatform() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = parse(args);
    Path repoRoot = Path.of(options.getOrDefault("repo-root", ".")).toAbsolutePath().normalize();
    Platform.Settings settings =
        Platform.Settings.defaults(repoRoot)
            .withDataDir(Path.of(options.getOrDefault("data-dir", ".flywheel")))
            .withPorts(
                Integer.parseInt(options.getOrDefault("kafka-port", "9092")),
                Integer.parseInt(options.getOrDefault("registry-port", "8081")),
                Integer.parseInt(options.getOrDefault("base-port", "8090")));
    boolean withSimulator = Boolean.parseBoolean(options.getOrDefault("simulator", "true"));

    CountDownLatch stopped = new CountDownLatch(1);
    Platform[] platform = new Platform[1];
    Simulator[] simulator = new Simulator[1];
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println(
                      "stopping (data kept in " + settings.dataDir().toAbsolutePath() + ")");
                  if (simulator[0] != null) {
                    simulator[0].stop();
                  }
                  if (platform[0] != null) {
                    platform[0].close();
                  }
                  stopped.countDown();
                },
                "local-platform-shutdown"));

    platform[0] = Platform.start(settings, LocalPlatform::progress);
    Platform p = platform[0];
    System.out.println();
    System.out.println("Flywheel is up. Ctrl-C stops it.");
    System.out.println("  dashboard:      " + p.url(FlywheelService.MODEL_REGISTRY) + "/");
    System.out.println(
        "  chat API:       " + p.url(FlywheelService.SERVING) + "/v1/chat/completions");
    System.out.println(
        "  feedback API:   " + p.url(FlywheelService.FEEDBACK_GATEWAY) + "/v1/rankings");
    System.out.println("  API key:        " + p.apiKey() + "   (Authorization: Bearer <key>)");
    System.out.println("  Kafka:          " + p.bootstrapServers());
    System.out.println("  schema registry " + p.registryUrl());
    System.out.println("  data and logs:  " + p.dataDir());
    System.out.println();

    if (withSimulator) {
      SimulatorConfig config =
          SimulatorConfig.builder()
              .servingUrl(URI.create(p.url(FlywheelService.SERVING)))
              .gatewayUrl(URI.create(p.url(FlywheelService.FEEDBACK_GATEWAY)))
              .registryUrl(URI.create(p.url(FlywheelService.MODEL_REGISTRY)))
              .servingKey(p.apiKey())
              .gatewayKey(p.apiKey())
              .registryKey(p.apiKey())
              .count(Long.parseLong(options.getOrDefault("simulator-count", "100000")))
              .progressEvery(Duration.ofSeconds(15))
              .build();
      simulator[0] = new Simulator(config, LocalPlatform::progress);
      Thread loop =
          new Thread(
              () -> {
                try {
                  simulator[0].run();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } catch (Exception e) {
                  System.err.println("simulator stopped: " + e);
                }
              },
              "simulator");
      loop.setDaemon(true);
      loop.start();
    }
    stopped.await();
  }

  private static void progress(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException(
            "usage: LocalPlatform [--data-dir DIR] [--kafka-port P] "
                + "[--registry-port P] [--base-port P] [--simulator true|false] [--simulator-count N]");
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }
}
