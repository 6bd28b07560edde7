package dev.flywheel.local;

import dev.flywheel.simulator.Simulator;
import dev.flywheel.simulator.SimulatorConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The local platform, the README's run command ({@code bash infra/run-local.sh}): broker, schema
 * registry, topics, every service as its own JVM, then the traffic simulator playing the product
 * apps. Data under one directory, so a restart continues; Ctrl-C stops everything it started.
 * {@code --help} lists the options and their defaults.
 */
@Command(
    name = "run-local.sh",
    sortOptions = false,
    sortSynopsis = false,
    description = {
      "Runs the Flywheel platform on this machine: Kafka broker, schema registry, topics, every"
          + " service as its own JVM, and the traffic simulator. Data and logs stay in the data"
          + " directory, so a restart continues; Ctrl-C stops everything it started."
    })
public final class LocalPlatform implements Callable<Integer> {

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Print this help and exit.")
  boolean help;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      defaultValue = Platform.Settings.DEFAULT_DATA_DIR,
      description = "Data and logs (broker, registry, models, state). Default: ${DEFAULT-VALUE}.")
  Path dataDir;

  @Option(
      names = "--kafka-port",
      paramLabel = "PORT",
      defaultValue = "" + Platform.Settings.DEFAULT_KAFKA_PORT,
      description = "The Kafka broker's port. Default: ${DEFAULT-VALUE}.")
  int kafkaPort;

  @Option(
      names = "--registry-port",
      paramLabel = "PORT",
      defaultValue = "" + Platform.Settings.DEFAULT_REGISTRY_PORT,
      description = "The schema registry's port. Default: ${DEFAULT-VALUE}.")
  int registryPort;

  @Option(
      names = "--base-port",
      paramLabel = "PORT",
      defaultValue = "" + Platform.Settings.DEFAULT_BASE_PORT,
      description =
          "The services' first port: model-registry and dashboard on it, then feedback-gateway,"
              + " serving, pair-assembler, reward-trainer, policy-trainer. Default:"
              + " ${DEFAULT-VALUE}.")
  int basePort;

  @Option(
      names = "--simulator",
      arity = "1",
      paramLabel = "true|false",
      defaultValue = "true",
      description =
          "Start the traffic simulator (demonstrations, served candidates, synthetic rankings)"
              + " once everything is up. Default: ${DEFAULT-VALUE}.")
  boolean withSimulator;

  @Option(
      names = "--simulator-count",
      paramLabel = "N",
      defaultValue = "100000",
      description = "The simulator's loop stops after N requests. Default: ${DEFAULT-VALUE}.")
  long simulatorCount;

  @Option(
      names = "--rollout-workers",
      paramLabel = "N",
      defaultValue = "0",
      description =
          "Start N rollout workers (ports after the policy trainer's) and let RL rounds take their"
              + " rollouts from them over Kafka; 0: the policy trainer samples its own. Default:"
              + " ${DEFAULT-VALUE}.")
  int rolloutWorkers;

  @Option(
      names = "--repo-root",
      paramLabel = "DIR",
      defaultValue = ".",
      description =
          "The repository, where services/<module>/target/*-all.jar are. Default:"
              + " ${DEFAULT-VALUE} (the current directory).")
  Path repoRoot;

  private LocalPlatform() {}

  public static void main(String[] args) {
    int exitCode = commandLine().execute(args);
    if (exitCode != 0) { // on success call() returned because the shutdown hook ran: just return
      System.exit(exitCode);
    }
  }

  static CommandLine commandLine() {
    return new CommandLine(new LocalPlatform());
  }

  /** Parses {@code args}; a bad option throws a {@link CommandLine.ParameterException}. */
  static LocalPlatform parse(String... args) {
    CommandLine cmd = commandLine();
    cmd.parseArgs(args);
    return cmd.getCommand();
  }

  /** What these options start. */
  Platform.Settings settings() {
    return Platform.Settings.defaults(repoRoot.toAbsolutePath().normalize())
        .withDataDir(dataDir)
        .withPorts(kafkaPort, registryPort, basePort)
        .withRolloutWorkers(rolloutWorkers);
  }

  @Override
  public Integer call() throws InterruptedException {
    Platform.Settings settings = settings();
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
              .count(simulatorCount)
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
    return 0;
  }

  private static void progress(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
