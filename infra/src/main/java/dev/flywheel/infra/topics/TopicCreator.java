package dev.flywheel.infra.topics;

import dev.flywheel.schemas.topics.TopicReplication;
import dev.flywheel.schemas.topics.TopicSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates topics from the catalogue, idempotently: missing topics are created with their partitions
 * and configs, too few partitions are increased, configs that differ are set with {@code
 * incrementalAlterConfigs}. Partitions are never decreased and other configs are left alone.
 *
 * <p>Replication ({@link TopicReplication}, chosen per environment) is asked for as a whole:
 * missing topics are created with its replication factor and {@code min.insync.replicas}, after
 * checking that the cluster has that many brokers (a clear error otherwise, before anything is
 * created). An existing topic keeps its replicas (Kafka changes them only by a partition
 * reassignment): fewer than asked is reported in {@link Result#replicationShortfalls()}, logged,
 * and fails the call when asked to. Its {@code min.insync.replicas} is raised to the asked value
 * when its replicas allow it, is reported instead when they do not (raising it above the replica
 * count would refuse every {@code acks=all} write), and is never lowered. Without a replication
 * ({@code null}) the broker's defaults apply and nothing is checked.
 *
 * <p>Then it waits until {@code listOffsets(latest)} answers for every partition of every topic:
 * right after creation a producer can silently lose its first batches (KAFKA-15591).
 */
public final class TopicCreator {

  private static final Logger LOG = LoggerFactory.getLogger(TopicCreator.class);

  /** How long {@link #ensureTopics(Admin, Collection)} waits in all. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private TopicCreator() {}

  /**
   * A topic to ensure: name, partitions, the broker-side configs it must have, and its replication
   * ({@code null}: the broker's defaults, nothing checked).
   */
  public record TopicDefinition(
      String name, int partitions, Map<String, String> configs, TopicReplication replication) {
    public TopicDefinition {
      Objects.requireNonNull(name, "name");
      if (partitions < 1) {
        throw new IllegalArgumentException("partitions must be >= 1 for " + name);
      }
      configs = Map.copyOf(configs);
      if (replication != null && configs.containsKey(TopicReplication.MIN_INSYNC_REPLICAS)) {
        throw new IllegalArgumentException(
            TopicReplication.MIN_INSYNC_REPLICAS
                + " of "
                + name
                + " is part of its replication, not of its configs");
      }
    }

    /** A topic with the broker's default replication. */
    public TopicDefinition(String name, int partitions, Map<String, String> configs) {
      this(name, partitions, configs, null);
    }

    /** A catalogue topic with the broker's default replication. */
    public static TopicDefinition of(TopicSpec<?> spec) {
      return of(spec, null);
    }

    /**
     * A catalogue topic with the environment's replication ({@code null}: the broker's defaults).
     */
    public static TopicDefinition of(TopicSpec<?> spec, TopicReplication replication) {
      return new TopicDefinition(spec.name(), spec.partitions(), spec.topicConfigs(), replication);
    }

    /** The configs a new topic is created with: its own plus {@code min.insync.replicas}. */
    Map<String, String> creationConfigs() {
      if (replication == null) {
        return configs;
      }
      Map<String, String> all = new LinkedHashMap<>(configs);
      all.putAll(replication.topicConfigs());
      return all;
    }
  }

  /**
   * What an ensure call changed; all empty when the topics were already as declared.
   *
   * @param replicationShortfalls existing topics with fewer replicas, or a lower {@code
   *     min.insync.replicas} that could not be raised, than asked: topic -> what falls short (not a
   *     change: nothing was done about it)
   */
  public record Result(
      List<String> created,
      Map<String, Integer> partitionsIncreased,
      Map<String, Map<String, String>> configsChanged,
      Map<String, String> replicationShortfalls) {
    public boolean changed() {
      return !created.isEmpty() || !partitionsIncreased.isEmpty() || !configsChanged.isEmpty();
    }
  }

  /**
   * Ensures the catalogue topics with the broker's default replication (nothing checked), waiting
   * at most {@link #DEFAULT_TIMEOUT}. Prefer {@link #ensureTopics(Admin, Collection,
   * TopicReplication)}.
   */
  public static Result ensureTopics(Admin admin, Collection<? extends TopicSpec<?>> specs) {
    return ensureTopics(admin, specs, DEFAULT_TIMEOUT);
  }

  /** Ensures the catalogue topics with the broker's default replication (nothing checked). */
  public static Result ensureTopics(
      Admin admin, Collection<? extends TopicSpec<?>> specs, Duration timeout) {
    return ensureTopics(admin, specs, null, timeout, false);
  }

  /**
   * Ensures the catalogue topics with the environment's replication, waiting at most {@link
   * #DEFAULT_TIMEOUT}; shortfalls of existing topics are reported, not fatal.
   */
  public static Result ensureTopics(
      Admin admin, Collection<? extends TopicSpec<?>> specs, TopicReplication replication) {
    return ensureTopics(admin, specs, replication, DEFAULT_TIMEOUT, false);
  }

  /**
   * Ensures the catalogue topics with the environment's replication ({@code null}: the broker's
   * defaults).
   *
   * @param failOnShortfall throw, once everything else is done, when an existing topic falls short
   *     of {@code replication} (see {@link Result#replicationShortfalls()})
   */
  public static Result ensureTopics(
      Admin admin,
      Collection<? extends TopicSpec<?>> specs,
      TopicReplication replication,
      Duration timeout,
      boolean failOnShortfall) {
    return ensure(
        admin,
        specs.stream().map(s -> TopicDefinition.of(s, replication)).toList(),
        timeout,
        failOnShortfall);
  }

  /** Ensures one topic (e.g. a test-private one) and waits until it is ready. */
  public static Result ensureTopic(
      Admin admin, String name, int partitions, Map<String, String> configs) {
    return ensure(admin, List.of(new TopicDefinition(name, partitions, configs)), DEFAULT_TIMEOUT);
  }

  /**
   * Ensures the given topics and waits until all their partitions are ready; replication shortfalls
   * are reported, not fatal.
   */
  public static Result ensure(Admin admin, Collection<TopicDefinition> topics, Duration timeout) {
    return ensure(admin, topics, timeout, false);
  }

  /**
   * Ensures the given topics and waits until all their partitions are ready.
   *
   * @param failOnShortfall throw an {@link IllegalStateException} naming them, once everything else
   *     is done, when existing topics fall short of their replication
   */
  public static Result ensure(
      Admin admin, Collection<TopicDefinition> topics, Duration timeout, boolean failOnShortfall) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, TopicDefinition> wanted = new LinkedHashMap<>();
    topics.forEach(t -> wanted.put(t.name(), t));
    if (wanted.isEmpty()) {
      return new Result(List.of(), Map.of(), Map.of(), Map.of());
    }
    Set<String> existing = get(admin.listTopics().names(), deadline, "list topics");

    // 1. create what is missing, if the cluster has the brokers for it
    List<TopicDefinition> missing =
        wanted.values().stream().filter(t -> !existing.contains(t.name())).toList();
    checkEnoughBrokers(admin, missing, deadline);
    List<NewTopic> toCreate =
        missing.stream()
            .map(
                t ->
                    new NewTopic(
                            t.name(),
                            Optional.of(t.partitions()),
                            t.replication() == null
                                ? Optional.empty()
                                : Optional.of((short) t.replication().factor()))
                        .configs(t.creationConfigs()))
            .toList();
    List<String> created = new ArrayList<>();
    if (!toCreate.isEmpty()) {
      CreateTopicsResult result = admin.createTopics(toCreate);
      for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
        try {
          get(e.getValue(), deadline, "create topic " + e.getKey());
          created.add(e.getKey());
        } catch (IllegalStateException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) {
            throw ex;
          }
          // created concurrently by someone else: treat it as existing
        }
      }
      if (!created.isEmpty()) {
        LOG.info("Created topics {}", created);
      }
    }

    // 2. partitions, replication and configs of those that existed already
    List<String> preexisting = wanted.keySet().stream().filter(n -> !created.contains(n)).toList();
    Map<String, Integer> increased = new LinkedHashMap<>();
    Map<String, Map<String, String>> changedConfigs = new LinkedHashMap<>();
    Map<String, String> shortfalls = new LinkedHashMap<>();
    if (!preexisting.isEmpty()) {
      Map<String, TopicDescription> descriptions =
          get(admin.describeTopics(preexisting).allTopicNames(), deadline, "describe topics");
      Map<String, NewPartitions> partitionIncreases = new LinkedHashMap<>();
      Map<String, Integer> replicas = new HashMap<>();
      for (String name : preexisting) {
        replicas.put(
            name,
            descriptions.get(name).partitions().stream()
                .mapToInt(p -> p.replicas().size())
                .min()
                .orElse(0));
        int have = descriptions.get(name).partitions().size();
        int want = wanted.get(name).partitions();
        if (have < want) {
          partitionIncreases.put(name, NewPartitions.increaseTo(want));
          increased.put(name, want);
        } else if (have > want) {
          LOG.warn(
              "Topic {} has {} partitions, more than the {} declared; leaving it",
              name,
              have,
              want);
        }
      }
      if (!partitionIncreases.isEmpty()) {
        get(admin.createPartitions(partitionIncreases).all(), deadline, "create partitions");
        LOG.info("Increased partitions {}", increased);
      }

      List<ConfigResource> resources =
          preexisting.stream().map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
      Map<ConfigResource, Config> current =
          get(admin.describeConfigs(resources).all(), deadline, "describe topic configs");
      Map<ConfigResource, Collection<AlterConfigOp>> alterations = new LinkedHashMap<>();
      for (ConfigResource resource : resources) {
        Config config = current.get(resource);
        TopicDefinition topic = wanted.get(resource.name());
        Map<String, String> changes = new LinkedHashMap<>();
        topic
            .configs()
            .forEach(
                (key, value) -> {
                  ConfigEntry entry = config.get(key);
                  if (entry == null || !Objects.equals(entry.value(), value)) {
                    changes.put(key, value);
                  }
                });
        if (topic.replication() != null) {
          String shortfall = replication(topic, replicas.get(topic.name()), config, changes);
          if (shortfall != null) {
            shortfalls.put(topic.name(), shortfall);
          }
        }
        if (!changes.isEmpty()) {
          alterations.put(
              resource,
              changes.entrySet().stream()
                  .map(
                      c ->
                          new AlterConfigOp(
                              new ConfigEntry(c.getKey(), c.getValue()), AlterConfigOp.OpType.SET))
                  .toList());
          changedConfigs.put(resource.name(), changes);
        }
      }
      if (!alterations.isEmpty()) {
        get(admin.incrementalAlterConfigs(alterations).all(), deadline, "alter topic configs");
        LOG.info("Changed topic configs {}", changedConfigs);
      }
      shortfalls.forEach(
          (name, shortfall) ->
              LOG.warn(
                  "Topic {} falls short of the asked {}: {}",
                  name,
                  wanted.get(name).replication(),
                  shortfall));
    }

    // 3. wait until every partition has a leader that answers
    awaitReady(admin, wanted.keySet(), Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    Result result =
        new Result(
            List.copyOf(created),
            Map.copyOf(increased),
            Map.copyOf(changedConfigs),
            Collections.unmodifiableMap(new LinkedHashMap<>(shortfalls)));
    if (failOnShortfall && !shortfalls.isEmpty()) {
      throw new IllegalStateException(describeShortfalls(shortfalls));
    }
    return result;
  }

  /**
   * Refuses, before anything is created, to create topics with more replicas than the cluster has
   * brokers (Kafka's own refusal would come topic by topic, after creating the others).
   */
  private static void checkEnoughBrokers(
      Admin admin, List<TopicDefinition> missing, long deadline) {
    int factor =
        missing.stream()
            .filter(t -> t.replication() != null)
            .mapToInt(t -> t.replication().factor())
            .max()
            .orElse(0);
    if (factor <= 1) {
      return;
    }
    int brokers = get(admin.describeCluster().nodes(), deadline, "describe cluster").size();
    if (factor > brokers) {
      List<String> names =
          missing.stream()
              .filter(t -> t.replication() != null && t.replication().factor() > brokers)
              .map(TopicDefinition::name)
              .toList();
      throw new IllegalStateException(
          "cannot create topics "
              + names
              + " with replication factor "
              + factor
              + ": the cluster has "
              + brokers
              + " broker"
              + (brokers == 1 ? "" : "s")
              + "; ask for a replication factor of at most "
              + brokers
              + " (1 and min.insync.replicas 1 on a single broker)");
    }
  }

  /**
   * Compares an existing topic's replicas and {@code min.insync.replicas} with the asked
   * replication: adds a raise of {@code min.insync.replicas} to {@code changes} when its replicas
   * allow it; returns what falls short, or null.
   */
  private static String replication(
      TopicDefinition topic, int replicas, Config config, Map<String, String> changes) {
    TopicReplication asked = topic.replication();
    List<String> parts = new ArrayList<>();
    if (replicas < asked.factor()) {
      parts.add(
          replicas
              + " replica"
              + (replicas == 1 ? "" : "s")
              + ", "
              + asked.factor()
              + " asked (Kafka changes a topic's replicas only by reassigning its partitions)");
    }
    ConfigEntry entry = config.get(TopicReplication.MIN_INSYNC_REPLICAS);
    int minIsr =
        entry == null || entry.value() == null ? 1 : Integer.parseInt(entry.value().trim());
    if (minIsr < asked.minInsyncReplicas()) {
      if (replicas >= asked.minInsyncReplicas()) {
        changes.put(
            TopicReplication.MIN_INSYNC_REPLICAS, Integer.toString(asked.minInsyncReplicas()));
      } else {
        parts.add(
            TopicReplication.MIN_INSYNC_REPLICAS
                + " "
                + minIsr
                + ", "
                + asked.minInsyncReplicas()
                + " asked (not raised: above the topic's "
                + replicas
                + " replica"
                + (replicas == 1 ? "" : "s")
                + " it would refuse every acks=all write)");
      }
    }
    return parts.isEmpty() ? null : String.join("; ", parts);
  }

  private static String describeShortfalls(Map<String, String> shortfalls) {
    return shortfalls.size()
        + " topic"
        + (shortfalls.size() == 1 ? "" : "s")
        + " below the asked replication: "
        + shortfalls.entrySet().stream()
            .map(e -> e.getKey() + ": " + e.getValue())
            .collect(Collectors.joining(" | "));
  }

  /**
   * Waits until {@code listOffsets(latest)} succeeds for every partition of the topics (see
   * KAFKA-15591).
   */
  public static void awaitReady(Admin admin, Collection<String> topics, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    while (true) {
      try {
        Map<String, TopicDescription> descriptions =
            admin
                .describeTopics(topics)
                .allTopicNames()
                .get(remainingMillis(deadline, 100), TimeUnit.MILLISECONDS);
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        descriptions
            .values()
            .forEach(
                d ->
                    d.partitions()
                        .forEach(
                            p ->
                                request.put(
                                    new TopicPartition(d.name(), p.partition()),
                                    OffsetSpec.latest())));
        admin.listOffsets(request).all().get(remainingMillis(deadline, 100), TimeUnit.MILLISECONDS);
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for topics " + topics, e);
      } catch (ExecutionException | TimeoutException e) {
        last = e;
      }
      if (System.nanoTime() >= deadline) {
        throw new IllegalStateException("topics " + topics + " not ready within " + timeout, last);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for topics " + topics, e);
      }
    }
  }

  /**
   * Waits until every partition of every topic on the cluster, internal ones included, has a leader
   * that answers {@code listOffsets}: e.g. right after a broker restart.
   */
  public static void awaitAllTopicsReady(Admin admin, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Set<String> names =
        get(
            admin
                .listTopics(
                    new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true))
                .names(),
            deadline,
            "list topics");
    if (!names.isEmpty()) {
      awaitReady(admin, names, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    }
  }

  private static long remainingMillis(long deadlineNanos, long atLeast) {
    return Math.max(atLeast, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
  }

  private static <T> T get(KafkaFuture<T> future, long deadlineNanos, String what) {
    try {
      return future.get(remainingMillis(deadlineNanos, 1000), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + what, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(what + " timed out", e);
    }
  }

  static String describe(Result result) {
    String changes =
        !result.changed()
            ? (result.replicationShortfalls().isEmpty()
                ? "all topics as declared"
                : "nothing changed")
            : "created "
                + result.created()
                + ", partitions increased "
                + result.partitionsIncreased()
                + ", configs changed "
                + result.configsChanged().entrySet().stream()
                    .map(e -> e.getKey() + e.getValue())
                    .collect(Collectors.joining(", ", "[", "]"));
    return result.replicationShortfalls().isEmpty()
        ? changes
        : changes + "; WARNING: " + describeShortfalls(result.replicationShortfalls());
  }
}
