package dev.flywheel.infra.topics;

import dev.flywheel.schemas.topics.TopicSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
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
 * Creates topics from the catalogue, idempotently: missing topics are created with their partitions and
 * configs, too few partitions are increased, configs that differ are set with
 * {@code incrementalAlterConfigs}. Partitions are never decreased and other configs are left alone.
 *
 * <p>Then it waits until {@code listOffsets(latest)} answers for every partition of every topic: right
 * after creation a producer can silently lose its first batches (KAFKA-15591).
 */
public final class TopicCreator {

  private static final Logger LOG = LoggerFactory.getLogger(TopicCreator.class);

  /** How long {@link #ensureTopics(Admin, Collection)} waits in all. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private TopicCreator() {}

  /** A topic to ensure: name, partitions, and the broker-side configs it must have. */
  public record TopicDefinition(String name, int partitions, Map<String, String> configs) {
    public TopicDefinition {
      Objects.requireNonNull(name, "name");
      if (partitions < 1) {
        throw new IllegalArgumentException("partitions must be >= 1 for " + name);
      }
      configs = Map.copyOf(configs);
    }

    public static TopicDefinition of(TopicSpec<?> spec) {
      return new TopicDefinition(spec.name(), spec.partitions(), spec.topicConfigs());
    }
  }

  /** What an ensure call changed; all empty when the topics were already as declared. */
  public record Result(List<String> created, Map<String, Integer> partitionsIncreased,
      Map<String, Map<String, String>> configsChanged) {
    public boolean changed() {
      return !created.isEmpty() || !partitionsIncreased.isEmpty() || !configsChanged.isEmpty();
    }
  }

  /** Ensures the catalogue topics, waiting at most {@link #DEFAULT_TIMEOUT}. */
  public static Result ensureTopics(Admin admin, Collection<? extends TopicSpec<?>> specs) {
    return ensureTopics(admin, specs, DEFAULT_TIMEOUT);
  }

  public static Result ensureTopics(Admin admin, Collection<? extends TopicSpec<?>> specs,
      Duration timeout) {
    return ensure(admin, specs.stream().map(TopicDefinition::of).toList(), timeout);
  }

  /** Ensures one topic (e.g. a test-private one) and waits until it is ready. */
  public static Result ensureTopic(Admin admin, String name, int partitions,
      Map<String, String> configs) {
    return ensure(admin, List.of(new TopicDefinition(name, partitions, configs)), DEFAULT_TIMEOUT);
  }

  /** Ensures the given topics and waits until all their partitions are ready. */
  public static Result ensure(Admin admin, Collection<TopicDefinition> topics, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, TopicDefinition> wanted = new LinkedHashMap<>();
    topics.forEach(t -> wanted.put(t.name(), t));
    if (wanted.isEmpty()) {
      return new Result(List.of(), Map.of(), Map.of());
    }
    Set<String> existing = get(admin.listTopics().names(), deadline, "list topics");

    // 1. create what is missing
    List<NewTopic> toCreate = wanted.values().stream()
        .filter(t -> !existing.contains(t.name()))
        .map(t -> new NewTopic(t.name(), Optional.of(t.partitions()), Optional.empty())
            .configs(t.configs()))
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

    // 2. partitions and configs of those that existed already
    List<String> preexisting = wanted.keySet().stream().filter(n -> !created.contains(n)).toList();
    Map<String, Integer> increased = new LinkedHashMap<>();
    Map<String, Map<String, String>> changedConfigs = new LinkedHashMap<>();
    if (!preexisting.isEmpty()) {
      Map<String, TopicDescription> descriptions = get(
          admin.describeTopics(preexisting).allTopicNames(), deadline, "describe topics");
      Map<String, NewPartitions> partitionIncreases = new LinkedHashMap<>();
      for (String name : preexisting) {
        int have = descriptions.get(name).partitions().size();
        int want = wanted.get(name).partitions();
        if (have < want) {
          partitionIncreases.put(name, NewPartitions.increaseTo(want));
          increased.put(name, want);
        } else if (have > want) {
          LOG.warn("Topic {} has {} partitions, more than the {} declared; leaving it", name, have,
              want);
        }
      }
      if (!partitionIncreases.isEmpty()) {
        get(admin.createPartitions(partitionIncreases).all(), deadline, "create partitions");
        LOG.info("Increased partitions {}", increased);
      }

      List<ConfigResource> resources = preexisting.stream()
          .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
      Map<ConfigResource, Config> current = get(admin.describeConfigs(resources).all(), deadline,
          "describe topic configs");
      Map<ConfigResource, Collection<AlterConfigOp>> alterations = new LinkedHashMap<>();
      for (ConfigResource resource : resources) {
        Config config = current.get(resource);
        Map<String, String> changes = new LinkedHashMap<>();
        wanted.get(resource.name()).configs().forEach((key, value) -> {
          ConfigEntry entry = config.get(key);
          if (entry == null || !Objects.equals(entry.value(), value)) {
            changes.put(key, value);
          }
        });
        if (!changes.isEmpty()) {
          alterations.put(resource, changes.entrySet().stream()
              .map(c -> new AlterConfigOp(new ConfigEntry(c.getKey(), c.getValue()),
                  AlterConfigOp.OpType.SET))
              .toList());
          changedConfigs.put(resource.name(), changes);
        }
      }
      if (!alterations.isEmpty()) {
        get(admin.incrementalAlterConfigs(alterations).all(), deadline, "alter topic configs");
        LOG.info("Changed topic configs {}", changedConfigs);
      }
    }

    // 3. wait until every partition has a leader that answers
    awaitReady(admin, wanted.keySet(), Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    return new Result(List.copyOf(created), Map.copyOf(increased), Map.copyOf(changedConfigs));
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
        Map<String, TopicDescription> descriptions = admin.describeTopics(topics).allTopicNames()
            .get(remainingMillis(deadline, 100), TimeUnit.MILLISECONDS);
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        descriptions.values().forEach(d -> d.partitions().forEach(
            p -> request.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest())));
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
   * Waits until every partition of every topic on the cluster, internal ones included, has a leader that
   * answers {@code listOffsets}: e.g. right after a broker restart.
   */
  public static void awaitAllTopicsReady(Admin admin, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Set<String> names = get(admin.listTopics(
        new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true)).names(),
        deadline, "list topics");
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
    if (!result.changed()) {
      return "all topics as declared";
    }
    return "created " + result.created() + ", partitions increased " + result.partitionsIncreased()
        + ", configs changed " + result.configsChanged().entrySet().stream()
            .map(e -> e.getKey() + e.getValue()).collect(Collectors.joining(", ", "[", "]"));
  }
}
