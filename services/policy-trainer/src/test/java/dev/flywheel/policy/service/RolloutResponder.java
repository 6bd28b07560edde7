package dev.flywheel.policy.service;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutFinishReason;
import dev.flywheel.events.RolloutPrompt;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.RolloutSample;
import dev.flywheel.model.Generation;
import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.testing.FlywheelInfra;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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

  RolloutResponder(
      FlywheelInfra infra, RolloutConfig config, int answers, boolean ignoreFirstIssue) {
    this.infra = infra;
    this.config = config;
    this.answers = answers;
    this.ignoreFirstIssue = ignoreFirstIssue;
    this.thread = new Thread(this::run, "responder");
    thread.start();
  }

  List<RolloutRequest> requests() {
    return List.copyOf(requests);
  }

  private void run() {
    Map<String, Object> props = infra.consumerProps(infra.uniqueName("responders"));
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
          try (LoadedModel p =
                  ModelArtifacts.load(
                      Path.of(URI.create(request.getPolicyArtifactUri())),
                      request.getPolicyArtifactSha256(),
                      own);
              LoadedModel rm =
                  ModelArtifacts.load(
                      Path.of(URI.create(request.getRewardArtifactUri())),
                      request.getRewardArtifactSha256(),
                      own)) {
            RolloutBatch batch = answer(request, p.policy(), rm.reward(), "responder");
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

  static List<RolloutPrompt> prompts(List<int[]> prompts) {
    List<RolloutPrompt> out = new ArrayList<>();
    for (int[] p : prompts) {
      List<Integer> tokens = new ArrayList<>();
      for (int t : p) {
        tokens.add(t);
      }
      out.add(new RolloutPrompt("p", tokens));
    }
    return out;
  }

  static RolloutBatch answer(
      RolloutRequest request, PolicyModel policy, RewardModel reward, String worker) {
    List<int[]> prompts =
        request.getPrompts().stream()
            .map(p -> p.getTokens().stream().mapToInt(Integer::intValue).toArray())
            .toList();
    GroupRollout rollout =
        GroupRollout.sample(
            policy,
            new RewardModelScorer(reward, request.getRewardOffset(), request.getRewardScale()),
            prompts,
            request.getSamplesPerPrompt(),
            request.getSampling().getMaxTokens(),
            request.getSampling().getSeed());
    List<RolloutSample> samples = new ArrayList<>();
    for (int row = 0; row < rollout.generations().size(); row++) {
      Generation g = rollout.generations().get(row);
      List<Integer> tokens = new ArrayList<>();
      List<Float> logProbs = new ArrayList<>();
      for (int i = 0; i < g.tokens().length; i++) {
        tokens.add(g.tokens()[i]);
        logProbs.add(g.logProbs()[i]);
      }
      samples.add(
          new RolloutSample(
              row / request.getSamplesPerPrompt(),
              tokens,
              logProbs,
              g.finishReason() == Generation.FinishReason.STOP
                  ? RolloutFinishReason.STOP
                  : RolloutFinishReason.LENGTH,
              rollout.scores()[row]));
    }
    return RolloutBatch.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setRequestId(request.getRequestId())
        .setEventTime(Instant.now())
        .setLearnerId(request.getLearnerId())
        .setPolicyVersion(request.getPolicyVersion())
        .setLearnerStep(request.getLearnerStep())
        .setPolicyArtifactSha256(request.getPolicyArtifactSha256())
        .setRewardModelVersion(request.getRewardModelVersion())
        .setWorkerId(worker)
        .setPrompts(request.getPrompts())
        .setSamples(samples)
        .setLoadMillis(0L)
        .setGenerationMillis(rollout.generationNanos() / 1_000_000)
        .setScoringMillis(rollout.scoringNanos() / 1_000_000)
        .setGeneratedTokens(rollout.generatedTokens())
        .build();
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
