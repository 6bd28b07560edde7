package dev.flywheel.testing;

import dev.flywheel.infra.kafka.EmbeddedKafkaBroker;
import dev.flywheel.infra.schemaregistry.SchemaRegistryServer;
import dev.flywheel.infra.topics.TopicCreator;
import dev.flywheel.schemas.support.FileTrees;
import dev.flywheel.schemas.topics.TopicReplication;
import dev.flywheel.schemas.topics.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The platform's infrastructure for tests: ONE in-process Kafka broker and ONE schema registry per
 * test JVM, started on first use (the two in parallel), with every catalogue topic created; stopped
 * when the test run (or the JVM) ends. Get it with {@link #get()} or as a parameter of a test class
 * extended with {@link FlywheelInfraExtension}.
 *
 * <p>The instance is shared by every test class of the JVM: use private topic names (see {@link
 * #uniqueName(String)}, {@link #createTopic(String, int)}) and private group ids. A test that stops
 * the broker must start it again ({@code broker().restart()} or {@code broker().start()}) before it
 * returns. Do not close {@link #admin()}.
 */
public final class FlywheelInfra implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(FlywheelInfra.class);
  private static FlywheelInfra instance;
  private static RuntimeException startFailure;

  private final EmbeddedKafkaBroker broker;
  private final SchemaRegistryServer registry;
  private final List<Path> tempDirectories = new CopyOnWriteArrayList<>();
  private Admin admin;
  private boolean closed;

  private FlywheelInfra(EmbeddedKafkaBroker broker, SchemaRegistryServer registry) {
    this.broker = broker;
    this.registry = registry;
  }

  /**
   * The JVM's shared instance, started on the first call. If starting failed, every later call
   * fails with the same error at once.
   */
  public static synchronized FlywheelInfra get() {
    if (instance != null) {
      return instance;
    }
    if (startFailure != null) {
      throw new IllegalStateException(
          "Flywheel test infrastructure failed to start earlier", startFailure);
    }
    try {
      instance = startNew();
      Runtime.getRuntime()
          .addShutdownHook(new Thread(FlywheelInfra::shutdown, "flywheel-infra-shutdown"));
      return instance;
    } catch (RuntimeException e) {
      startFailure = e;
      throw e;
    }
  }

  /** Closes the shared instance (if any); a later {@link #get()} starts a new one. */
  public static synchronized void shutdown() {
    if (instance != null) {
      instance.close();
      instance = null;
    }
  }

  private static FlywheelInfra startNew() {
    long t0 = System.nanoTime();
    EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker();
    SchemaRegistryServer registry = SchemaRegistryServer.builder().build();
    CompletableFuture<Void> kafka =
        async(
            "flywheel-infra-kafka",
            () -> {
              broker.start();
              try (Admin admin = Admin.create(adminProps(broker.bootstrapServers()))) {
                TopicCreator.ensureTopics(admin, Topics.ALL, TopicReplication.SINGLE_BROKER);
              }
              return null;
            });
    CompletableFuture<Void> schemaRegistry =
        async(
            "flywheel-infra-registry",
            () -> {
              registry.start();
              return null;
            });
    try {
      CompletableFuture.allOf(kafka, schemaRegistry).join();
    } catch (CompletionException e) {
      broker.close();
      registry.close();
      Throwable cause = e.getCause();
      throw cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
    }
    LOG.info(
        "Flywheel test infrastructure up in {} ms: Kafka {} ({} catalogue topics), registry {}",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
        broker.bootstrapServers(),
        Topics.ALL.size(),
        registry.url());
    return new FlywheelInfra(broker, registry);
  }

  private static <T> CompletableFuture<T> async(String threadName, Supplier<T> task) {
    CompletableFuture<T> future = new CompletableFuture<>();
    Thread thread =
        new Thread(
            () -> {
              try {
                future.complete(task.get());
              } catch (Throwable t) {
                future.completeExceptionally(t);
              }
            },
            threadName);
    thread.setDaemon(true);
    thread.start();
    return future;
  }

  private static Properties adminProps(String bootstrapServers) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "flywheel-infra-admin");
    return props;
  }

  /** {@code 127.0.0.1:PORT} of the broker (the same across broker restarts). */
  public String bootstrapServers() {
    return broker.bootstrapServers();
  }

  /** The registry's Confluent-compatible API, {@code http://127.0.0.1:PORT/apis/ccompat/v7}. */
  public String registryUrl() {
    return registry.url();
  }

  /** The broker, e.g. to {@code stop()} and {@code restart()} it in a test. */
  public EmbeddedKafkaBroker broker() {
    return broker;
  }

  public SchemaRegistryServer registry() {
    return registry;
  }

  /** A shared admin client; do not close it. */
  public synchronized Admin admin() {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (admin == null) {
      admin = Admin.create(adminProps(bootstrapServers()));
    }
    return admin;
  }

  /**
   * Base producer settings (a new mutable map): bootstrap servers, {@code acks=all}, idempotence.
   * Add serializers.
   */
  public Map<String, Object> producerProps() {
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    return props;
  }

  /**
   * Base consumer settings (a new mutable map): bootstrap servers, the group, {@code earliest}, no
   * auto commit. Add deserializers.
   */
  public Map<String, Object> consumerProps(String groupId) {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return props;
  }

  /** Creates a (test-private) topic if it does not exist and waits until it is ready. */
  public void createTopic(String name, int partitions) {
    createTopic(name, partitions, Map.of());
  }

  /**
   * Creates a (test-private) topic with configs if it does not exist and waits until it is ready.
   */
  public void createTopic(String name, int partitions, Map<String, String> configs) {
    TopicCreator.ensureTopic(admin(), name, partitions, configs);
  }

  /** {@code prefix} plus a random suffix: a topic name, group id or application id of one test. */
  public String uniqueName(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * A new temporary directory (e.g. a Kafka Streams {@code state.dir}), deleted when this closes.
   */
  public Path newTempDirectory(String prefix) {
    try {
      Path dir = Files.createTempDirectory(prefix);
      tempDirectories.add(dir);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (admin != null) {
      admin.close(java.time.Duration.ofSeconds(5));
    }
    registry.close();
    broker.close();
    tempDirectories.forEach(FileTrees::deleteQuietly);
    LOG.info("Flywheel test infrastructure stopped");
  }
}
