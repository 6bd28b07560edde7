package dev.flywheel.local;

import dev.flywheel.infra.kafka.KafkaBrokerProcess;
import dev.flywheel.infra.schemaregistry.SchemaRegistryServer;
import dev.flywheel.infra.topics.TopicCreator;
import dev.flywheel.schemas.support.Digests;
import dev.flywheel.schemas.topics.TopicReplication;
import dev.flywheel.schemas.topics.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * The whole platform on one machine: a KRaft broker and a schema registry as their own JVMs, the
 * topics, and every service as its own JVM with a modest explicit heap, all under one data
 * directory so that a restart continues where it stopped. Used by the local launcher and the
 * end-to-end tests.
 */
public final class Platform implements AutoCloseable {

  /** What to start, where. {@code serviceProperties} adds or overrides per-service settings. */
  public record Settings(
      Path repoRoot,
      Path dataDir,
      int kafkaPort,
      int registryPort,
      int basePort,
      List<FlywheelService> services,
      Map<FlywheelService, Map<String, String>> serviceProperties,
      int rolloutWorkers) {

    /** The broker's port, the one every service's and the CLI's defaults point at. */
    public static final int DEFAULT_KAFKA_PORT = 9092;

    /** The schema registry's port. */
    public static final int DEFAULT_REGISTRY_PORT = 8081;

    /** The first service's port; each service adds its {@link FlywheelService#portOffset()}. */
    public static final int DEFAULT_BASE_PORT = 8090;

    /** Data and logs, under the repository root. */
    public static final String DEFAULT_DATA_DIR = ".flywheel";

    public static Settings defaults(Path repoRoot) {
      return new Settings(
          repoRoot,
          repoRoot.resolve(DEFAULT_DATA_DIR),
          DEFAULT_KAFKA_PORT,
          DEFAULT_REGISTRY_PORT,
          DEFAULT_BASE_PORT,
          FlywheelService.CORE,
          Map.of(),
          0);
    }

    public Settings withDataDir(Path dir) {
      return new Settings(
          repoRoot,
          dir,
          kafkaPort,
          registryPort,
          basePort,
          services,
          serviceProperties,
          rolloutWorkers);
    }

    public Settings withPorts(int kafka, int registry, int base) {
      return new Settings(
          repoRoot, dataDir, kafka, registry, base, services, serviceProperties, rolloutWorkers);
    }

    public Settings withServiceProperties(Map<FlywheelService, Map<String, String>> properties) {
      return new Settings(
          repoRoot,
          dataDir,
          kafkaPort,
          registryPort,
          basePort,
          services,
          properties,
          rolloutWorkers);
    }

    /**
     * {@code n} rollout workers (their own processes), and the policy trainer's RL rounds take
     * their rollouts from them ({@code rollout.source: workers}); 0 (default): the trainer samples
     * its own.
     */
    public Settings withRolloutWorkers(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("rollout workers must be >= 0: " + n);
      }
      return new Settings(
          repoRoot, dataDir, kafkaPort, registryPort, basePort, services, serviceProperties, n);
    }
  }

  /** The app id of the local API key; it has every scope. */
  public static final String LOCAL_APP = "local";

  private final Settings settings;
  private final Consumer<String> progress;
  private final List<AutoCloseable> started = new ArrayList<>();
  private final Map<FlywheelService, ServiceProcess> services =
      new EnumMap<>(FlywheelService.class);
  private final List<ServiceProcess> rolloutWorkers = new ArrayList<>();
  private KafkaBrokerProcess broker;
  private SchemaRegistryServer registry;
  private String apiKey;

  private Platform(Settings settings, Consumer<String> progress) {
    this.settings = settings;
    this.progress = progress;
  }

  /** Starts everything in {@code settings}; on failure stops what it started and rethrows. */
  public static Platform start(Settings settings, Consumer<String> progress) {
    Platform platform = new Platform(settings, progress);
    try {
      platform.startAll();
      return platform;
    } catch (RuntimeException e) {
      platform.close();
      throw e;
    }
  }

  private void startAll() {
    Path data = settings.dataDir().toAbsolutePath();
    createDirectories(data.resolve("logs"));
    apiKey = loadOrCreateApiKey(data.resolve("local-api-key"));
    int total = 3 + settings.services().size() + settings.rolloutWorkers();
    progress.accept("[1/" + total + "] Kafka broker (KRaft) and schema registry, in parallel");
    CompletableFuture<KafkaBrokerProcess> brokerFuture =
        CompletableFuture.supplyAsync(
            () ->
                KafkaBrokerProcess.builder()
                    .dataDirectory(data.resolve("kafka"))
                    .logFile(data.resolve("logs/kafka.log"))
                    .port(settings.kafkaPort())
                    .heap("384m")
                    .start());
    CompletableFuture<SchemaRegistryServer> registryFuture =
        CompletableFuture.supplyAsync(
            () ->
                SchemaRegistryServer.builder()
                    .port(settings.registryPort())
                    .dataDirectory(data.resolve("registry"))
                    .logFile(data.resolve("logs/registry.log"))
                    .start());
    broker = join(brokerFuture);
    started.add(broker);
    registry = join(registryFuture);
    started.add(registry);
    progress.accept("      broker " + broker.bootstrapServers() + ", registry " + registry.url());

    progress.accept("[2/" + total + "] topics from the catalogue");
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      TopicCreator.Result result =
          TopicCreator.ensureTopics(admin, Topics.ALL, TopicReplication.SINGLE_BROKER);
      progress.accept(
          "      " + Topics.ALL.size() + " topics ready (" + result.created().size() + " created)");
    }

    int step = 3;
    for (FlywheelService service : settings.services()) {
      progress.accept(
          "["
              + step++
              + "/"
              + total
              + "] "
              + service.module()
              + " on port "
              + port(service)
              + " (-Xmx"
              + service.heap()
              + ")");
      ServiceProcess process = process(service, 0);
      services.put(service, process);
      started.add(process);
      process.start();
    }
    for (int i = 0; i < settings.rolloutWorkers(); i++) {
      int port = workerPort(i);
      progress.accept(
          "["
              + step++
              + "/"
              + total
              + "] rollout-worker "
              + i
              + " on port "
              + port
              + " (-Xmx"
              + FlywheelService.ROLLOUT_WORKER.heap()
              + ")");
      ServiceProcess process = process(FlywheelService.ROLLOUT_WORKER, i);
      rolloutWorkers.add(process);
      started.add(process);
      process.start();
    }
    progress.accept("[" + total + "/" + total + "] all services up");
  }

  /** A service's process; {@code instance} numbers the rollout workers (0 for the others). */
  private ServiceProcess process(FlywheelService service, int instance) {
    Path data = settings.dataDir().toAbsolutePath();
    boolean worker = service == FlywheelService.ROLLOUT_WORKER;
    int port = worker ? workerPort(instance) : port(service);
    String name = worker ? service.module() + "-" + instance : service.module();
    Map<String, String> config = new LinkedHashMap<>();
    config.put("micronaut.server.port", Integer.toString(port));
    config.put("flywheel.kafka.bootstrap-servers", broker.bootstrapServers());
    config.put("flywheel.registry.url", registry.url());
    config.put("flywheel.auth.apps." + LOCAL_APP + ".key-hashes", Digests.sha256Hex(apiKey));
    config.put("flywheel.auth.apps." + LOCAL_APP + ".scopes", "*");
    Path artifacts = data.resolve("artifacts");
    switch (service) {
      case MODEL_REGISTRY ->
          config.put("flywheel.model-registry.artifact-root", artifacts.toString());
      case PAIR_ASSEMBLER ->
          config.put(
              "flywheel.pair-assembler.state-dir", data.resolve("state/pair-assembler").toString());
      case REWARD_TRAINER -> {
        config.put("flywheel.reward-trainer.artifact-root", artifacts.toString());
        config.put(
            "flywheel.reward-trainer.checkpoint-dir",
            data.resolve("state/reward-trainer").toString());
      }
      case POLICY_TRAINER -> {
        config.put("flywheel.policy-trainer.artifact-root", artifacts.toString());
        config.put(
            "flywheel.policy-trainer.state-dir", data.resolve("state/policy-trainer").toString());
        if (settings.rolloutWorkers() > 0) {
          config.put("flywheel.policy-trainer.rollout.source", "workers");
        }
      }
      case ROLLOUT_WORKER -> {
        config.put("flywheel.rollout-worker.artifact-root", artifacts.toString());
        config.put("flywheel.rollout-worker.worker-id", name);
      }
      default -> {}
    }
    config.putAll(settings.serviceProperties().getOrDefault(service, Map.of()));

    ServiceProcess.Builder builder =
        ServiceProcess.builder(name, service.jar(settings.repoRoot()))
            .heap(service.heap())
            .logFile(data.resolve("logs").resolve(name + ".log"))
            .healthUrl("http://127.0.0.1:" + port + FlywheelService.LIVENESS_PATH);
    if (service.usesTorch()) {
      // two cores shared by every JVM here: one intra-op thread each, the policy trainer gets two
      builder
          .systemProperty("ai.djl.offline", "true")
          .systemProperty("ai.djl.pytorch.num_interop_threads", "1")
          .systemProperty(
              "ai.djl.pytorch.num_threads", service == FlywheelService.POLICY_TRAINER ? "2" : "1");
    }
    config.forEach(builder::systemProperty);
    return builder.build();
  }

  public int port(FlywheelService service) {
    return settings.basePort() + service.portOffset();
  }

  /** Rollout worker {@code i}'s port: after the policy trainer's. */
  public int workerPort(int i) {
    return settings.basePort() + FlywheelService.ROLLOUT_WORKER.portOffset() + i;
  }

  /** Rollout worker {@code i}'s process, to kill or restart it. */
  public ServiceProcess rolloutWorker(int i) {
    return rolloutWorkers.get(i);
  }

  public String url(FlywheelService service) {
    return "http://127.0.0.1:" + port(service);
  }

  public String bootstrapServers() {
    return broker.bootstrapServers();
  }

  public String registryUrl() {
    return registry.url();
  }

  /** A bearer key for every service (app id {@link #LOCAL_APP}, all scopes). */
  public String apiKey() {
    return apiKey;
  }

  public Path dataDir() {
    return settings.dataDir().toAbsolutePath();
  }

  /** The running process of a service, to kill or restart it. */
  public ServiceProcess service(FlywheelService service) {
    ServiceProcess process = services.get(service);
    if (process == null) {
      throw new IllegalArgumentException(service + " was not started");
    }
    return process;
  }

  @Override
  public void close() {
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        started.get(i).close();
      } catch (Exception e) {
        progress.accept("while stopping: " + e);
      }
    }
    started.clear();
  }

  private static <T> T join(CompletableFuture<T> future) {
    try {
      return future.join();
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  private static String loadOrCreateApiKey(Path file) {
    try {
      if (Files.exists(file)) {
        return Files.readString(file, StandardCharsets.UTF_8).trim();
      }
      byte[] random = new byte[24];
      new SecureRandom().nextBytes(random);
      String key = "fwk_" + HexFormat.of().formatHex(random);
      Files.writeString(file, key + "\n", StandardCharsets.UTF_8);
      return key;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
