package dev.flywheel.policy.service;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.modelevents.RolloutEvents;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.testing.FlywheelInfra;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Plays the rollout workers: answers every request of the topic with {@link GroupRollout} on the
 * snapshot it names ({@code answers} times each, to test de-duplication), optionally ignoring the
 * first issue of each request (a worker that died before answering). It stands in for the
 * rollout-worker service, which lives in its own module (services share only libraries) and runs
 * the same {@link GroupRollout}; e2e-tests runs the two services together.
 */
final class RolloutResponder implements AutoCloseable {
  private final FlywheelInfra infra;
  private final RolloutConfig config;
  private final int answers;
  private final boolean ignoreFirstIssue;
  private final List<RolloutRequest> requests = new CopyOnWriteArrayList<>();
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  private final Thread thread;
  private volatile boolean stop;
  private volatile Throwable failure;
  private final Map<String, LoadedModel> rewardModels = new java.util.HashMap<>();
  private final String name;
  private final String group;

  RolloutResponder(
      FlywheelInfra infra, RolloutConfig config, int answers, boolean ignoreFirstIssue) {
    this(infra, config, answers, ignoreFirstIssue, "responder", infra.uniqueName("responders"));
  }

  /** One of several responders sharing the consumer group {@code group} (the bench's workers). */
  RolloutResponder(
      FlywheelInfra infra,
      RolloutConfig config,
      int answers,
      boolean ignoreFirstIssue,
      String name,
      String group) {
    this.name = name;
    this.group = group;
    this.infra = infra;
    this.config = config;
    this.answers = answers;
    this.ignoreFirstIssue = ignoreFirstIssue;
    this.thread = new Thread(this::run, name);
    thread.start();
  }

  /**
   * The benches' setting: rollouts from workers with at most {@code staleness} batches in flight,
   * on private topics (requests 6 partitions, batches 3), a deadline of 5 min.
   */
  static RolloutConfig benchConfig(FlywheelInfra infra, int staleness) {
    RolloutConfig config = new RolloutConfig();
    config.setSource(RolloutConfig.Source.WORKERS);
    config.setMaxStaleness(staleness);
    config.setDeadline(Duration.ofMinutes(5));
    config.setRequestsTopic(infra.uniqueName("bench-requests"));
    config.setBatchesTopic(infra.uniqueName("bench-batches"));
    infra.createTopic(config.getRequestsTopic(), 6);
    infra.createTopic(config.getBatchesTopic(), 3);
    return config;
  }

  /** {@code workers} responders sharing one new consumer group, each answering once. */
  static List<RolloutResponder> pool(FlywheelInfra infra, RolloutConfig config, int workers) {
    String group = infra.uniqueName("bench-workers");
    List<RolloutResponder> pool = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      pool.add(new RolloutResponder(infra, config, 1, false, "worker-" + w, group));
    }
    return pool;
  }

  List<RolloutRequest> requests() {
    return List.copyOf(requests);
  }

  private void run() {
    Map<String, Object> props = infra.consumerProps(group);
    AvroDeserializer<RolloutRequest> values = new AvroDeserializer<>();
    values.configure(
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            infra.registryUrl(),
            AvroSerdeConfig.SPECIFIC_TYPE,
            RolloutRequest.class),
        false);
    try (KafkaConsumer<String, RolloutRequest> consumer =
            new KafkaConsumer<>(props, new StringDeserializer(), values);
        KafkaProducer<String, RolloutBatch> producer = producer(infra, RolloutBatch.class);
        NDManager own = NDManager.newBaseManager()) {
      consumer.subscribe(List.of(config.getRequestsTopic()));
      while (!stop) {
        for (ConsumerRecord<String, RolloutRequest> r : consumer.poll(Duration.ofMillis(100))) {
          RolloutRequest request = r.value();
          boolean first = seen.add(request.getRequestId());
          if (first) {
            requests.add(request);
          }
          if (first && ignoreFirstIssue) {
            continue;
          }
          LoadedModel rm = rewardModels.get(request.getRewardArtifactSha256());
          if (rm == null) {
            rm =
                ModelArtifacts.load(
                    Path.of(URI.create(request.getRewardArtifactUri())),
                    request.getRewardArtifactSha256(),
                    own);
            rewardModels.put(request.getRewardArtifactSha256(), rm);
          }
          try (LoadedModel p =
              ModelArtifacts.load(
                  Path.of(URI.create(request.getPolicyArtifactUri())),
                  request.getPolicyArtifactSha256(),
                  own)) {
            RolloutBatch batch = answer(request, p.policy(), rm.reward(), name);
            for (int i = 0; i < answers; i++) {
              batch.setEventId(UUID.randomUUID().toString());
              producer
                  .send(new ProducerRecord<>(config.getBatchesTopic(), batch.getRequestId(), batch))
                  .get();
            }
          }
        }
        consumer.commitSync();
      }
    } catch (Throwable e) {
      failure = e;
    }
  }

  static RolloutBatch answer(
      RolloutRequest request, PolicyModel policy, RewardModel reward, String worker) {
    return RolloutEvents.answer(
        request, policy, request.getPolicyArtifactSha256(), reward, worker, 0L);
  }

  static <T extends org.apache.avro.specific.SpecificRecord> KafkaProducer<String, T> producer(
      FlywheelInfra infra, Class<T> type) {
    Map<String, Object> props = infra.producerProps();
    props.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.registryUrl());
    AvroSerializer<T> values = new AvroSerializer<>();
    values.configure(props, false);
    return new KafkaProducer<>(props, new StringSerializer(), values);
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join(Duration.ofSeconds(30).toMillis());
    if (failure != null) {
      throw new AssertionError("the responder failed", failure);
    }
  }
}
