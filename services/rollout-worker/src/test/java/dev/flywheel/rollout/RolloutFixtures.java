package dev.flywheel.rollout;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutPrompt;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatRole;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.testing.FlywheelInfra;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Shared by the worker's tests: tiny real models (fresh weights) saved as artifacts under a
 * temporary artifact root, private topics, requests for them, and readers of what workers wrote.
 */
final class RolloutFixtures implements AutoCloseable {

  final FlywheelInfra infra;
  final NDManager manager = NDManager.newBaseManager();
  final LocalArtifactStore store;
  final PolicyModel policy;
  final RewardModel reward;
  final String policyUri;
  final String policySha;
  final String rewardUri;
  final String rewardSha;

  RolloutFixtures(FlywheelInfra infra) throws IOException {
    this.infra = infra;
    Path root = infra.newTempDirectory("rollout-artifacts");
    store = new LocalArtifactStore(root);
    policy = PolicyModel.create(GptConfig.tiny(), manager);
    reward = RewardModel.create(GptConfig.tiny(), manager);
    Path policyDir = root.resolve("snapshots/learner-1/step-3");
    policySha = ModelArtifacts.save(policyDir, policy, ByteTokenizer.INSTANCE, Map.of());
    policyUri = policyDir.toUri().toString();
    Path rewardDir = root.resolve("reward/v7");
    rewardSha = ModelArtifacts.save(rewardDir, reward, ByteTokenizer.INSTANCE, Map.of());
    rewardUri = rewardDir.toUri().toString();
  }

  @Override
  public void close() {
    manager.close();
  }

  /** Private topics and group of one test. */
  record Topics(String requests, String batches, String deadLetters, String group) {}

  Topics topics(int requestPartitions) {
    Topics t =
        new Topics(
            infra.uniqueName("rollout-requests"),
            infra.uniqueName("rollout-batches"),
            infra.uniqueName("dead-letters"),
            infra.uniqueName("rollout-workers"));
    infra.createTopic(t.requests, requestPartitions);
    infra.createTopic(t.batches, 1);
    infra.createTopic(t.deadLetters, 1);
    return t;
  }

  /**
   * Three chat prompts, K samples each, of the saved snapshot (learner-1, step 3 of policy v5),
   * scored by the saved reward model (v7, offset 0.25, scale 2), 16 tokens, seed 42.
   */
  RolloutRequest request(String id, int k, Instant deadline) {
    ChatTemplate template = new ChatTemplate();
    List<RolloutPrompt> prompts = new ArrayList<>();
    for (String text : List.of("What is 2+3?", "Say thanks.", "Hi")) {
      List<Integer> tokens = new ArrayList<>();
      for (int t : template.encodeForGeneration(List.of(new ChatTurn(ChatRole.USER, text)))) {
        tokens.add(t);
      }
      prompts.add(new RolloutPrompt("pk-" + text.length(), tokens));
    }
    return RolloutRequest.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setRequestId(id)
        .setEventTime(Instant.now())
        .setLearnerId("learner-1")
        .setPolicyVersion(5L)
        .setLearnerStep(3)
        .setPolicyArtifactUri(policyUri)
        .setPolicyArtifactSha256(policySha)
        .setRewardModelVersion(7L)
        .setRewardArtifactUri(rewardUri)
        .setRewardArtifactSha256(rewardSha)
        .setRewardOffset(0.25)
        .setRewardScale(2.0)
        .setPrompts(prompts)
        .setSamplesPerPrompt(k)
        .setSampling(new SamplingParams(1.0, 1.0, 0, 16, 42L))
        .setDeadline(deadline)
        .build();
  }

  static List<int[]> prompts(RolloutRequest request) {
    return request.getPrompts().stream()
        .map(p -> p.getTokens().stream().mapToInt(Integer::intValue).toArray())
        .toList();
  }

  void publish(String topic, int partition, RolloutRequest request) throws Exception {
    Map<String, Object> props = infra.producerProps();
    props.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.registryUrl());
    AvroSerializer<SpecificRecord> values = new AvroSerializer<>();
    values.configure(props, false);
    try (KafkaProducer<String, SpecificRecord> producer =
        new KafkaProducer<>(props, new StringSerializer(), values)) {
      producer.send(new ProducerRecord<>(topic, partition, request.getRequestId(), request)).get();
    }
  }

  /** The first batch on {@code topic} that matches, waiting up to 90 s for it. */
  RolloutBatch awaitBatch(String topic, Predicate<RolloutBatch> match) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      for (RolloutBatch b : readAll(topic, RolloutBatch.class)) {
        if (match.test(b)) {
          return b;
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no matching batch on " + topic + " within 90 s");
  }

  /** Every record on {@code topic} up to its end now. */
  <T extends SpecificRecord> List<T> readAll(String topic, Class<T> type) {
    Map<String, Object> props = infra.consumerProps(null);
    AvroDeserializer<T> values = new AvroDeserializer<>();
    values.configure(
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            infra.registryUrl(),
            AvroSerdeConfig.SPECIFIC_TYPE,
            type),
        false);
    try (KafkaConsumer<String, T> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), values)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<T> out = new ArrayList<>();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        for (ConsumerRecord<String, T> r : consumer.poll(Duration.ofMillis(200))) {
          out.add(r.value());
        }
      }
      return out;
    }
  }
}
