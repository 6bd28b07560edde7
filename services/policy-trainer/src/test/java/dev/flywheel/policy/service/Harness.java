package dev.flywheel.policy.service;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.Role;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.events.Turn;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.TokenBatch;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.Splits;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.trainerkit.KafkaSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
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
 * Private topics, tiny settings and event helpers for the tests that run the loop on the real
 * broker.
 */
final class Harness {

  final FlywheelInfra infra;
  final PolicyTrainerConfig config = new PolicyTrainerConfig();
  final SftConfig sft = new SftConfig();
  final PpoConfig ppo = new PpoConfig();
  final DpoConfig dpo = new DpoConfig();
  final RolloutConfig rollouts = new RolloutConfig();
  final Path root;

  Harness(FlywheelInfra infra) {
    this.infra = infra;
    root = infra.newTempDirectory("policy-trainer-test");
    config.setDemonstrationsTopic(
        topic("demos", Topics.FEEDBACK_DEMONSTRATIONS.partitions(), Map.of()));
    config.setTranscriptsTopic(topic("transcripts", 2, Map.of()));
    config.setRewardVersionsTopic(topic("rm-versions", 1, Topics.REWARD_VERSIONS.topicConfigs()));
    config.setPolicyVersionsTopic(
        topic("policy-versions", 1, Topics.POLICY_VERSIONS.topicConfigs()));
    config.setMetricsTopic(topic("metrics", 1, Map.of()));
    config.setDeadLettersTopic(topic("dlq", 1, Map.of()));
    config.setTransactionalId(infra.uniqueName("policy-trainer"));
    config.setArtifactRoot(root.resolve("artifacts").toString());
    config.setStateDir(root.resolve("state").toString());
    config.setDevice("cpu");
    config.setModelPreset("tiny"); // 64-token context
    config.setMinDemonstrations(16);
    config.setSftRetrain(false);
    config.setSftContinue(false); // SftChainTest turns it on
    config.setPpoSchedule(Duration.ZERO);
    config.setMinTrainPrompts(4);
    config.setPollInterval(Duration.ofMillis(200));
    config.setKafkaTimeout(Duration.ofSeconds(30));

    sft.setMaxSteps(40);
    sft.setBatchSize(8);
    sft.setLearningRate(3e-3f);
    sft.setWarmupSteps(5);
    sft.setLogEvery(10);
    sft.setEvalFraction(0.25);

    ppo.setRolloutBatchSize(8);
    ppo.setMiniBatchSize(4);
    ppo.setPpoEpochs(2);
    ppo.setMaxNewTokens(12);
    ppo.setIterationsPerRound(2);
    ppo.setEvalPrompts(4);
    ppo.setEvalSamplesPerPrompt(2);
    ppo.setRewardDropTolerance(10.0); // the gate is tested on its own; here any outcome is fine
  }

  private String topic(String prefix, int partitions, Map<String, String> configs) {
    String name = infra.uniqueName(prefix);
    infra.createTopic(name, partitions, configs);
    return name;
  }

  /** The registry the trainer under test uses (a {@code RegistryProxy} in outage tests). */
  String registryUrl;

  KafkaSettings kafka() {
    return new KafkaSettings(
        infra.bootstrapServers(), registryUrl != null ? registryUrl : infra.registryUrl());
  }

  /**
   * {@code ppo.algorithm=dpo} on a private comparisons topic (2 partitions), with a tiny round: 4
   * groups per step, 2 epochs, a metrics event every step.
   */
  void enableDpo(int roundMinGroups) {
    config.setComparisonsTopic(topic("comparisons", 2, Map.of()));
    ppo.setAlgorithm(PpoConfig.Algorithm.DPO);
    dpo.setRoundMinGroups(roundMinGroups);
    dpo.setGroupsPerStep(4);
    dpo.setEpochs(2);
    dpo.setWarmupSteps(1);
    dpo.setLearningRate(1e-3f);
    dpo.setLogEvery(1);
  }

  /**
   * RL rounds take their rollouts from the rollout workers ({@link RolloutResponder} plays them),
   * on private topics, at most {@code maxStaleness} steps old.
   */
  void enableWorkers(int maxStaleness) {
    rollouts.setSource(RolloutConfig.Source.WORKERS);
    rollouts.setMaxStaleness(maxStaleness);
    rollouts.setRequestsTopic(topic("rollout-requests", 2, Map.of()));
    rollouts.setBatchesTopic(topic("rollout-batches", 2, Map.of()));
  }

  PolicyTrainerLoop loop(PolicyTrainerStatus status, PolicyTrainerLoop.Events events) {
    return new PolicyTrainerLoop(config, sft, ppo, dpo, rollouts, kafka(), status, events);
  }

  /**
   * Runs a loop until it published its first SFT version, then stops it (so that a test can change
   * the settings of the next round); the version.
   */
  PolicyVersion firstSftVersion() throws InterruptedException {
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    PolicyTrainerLoop loop = loop(status, null);
    loop.start();
    try {
      return awaitVersion(
          v -> v.getStage() == dev.flywheel.events.PolicyStage.SFT, Duration.ofSeconds(90), status);
    } finally {
      if (!loop.stop(Duration.ofSeconds(30))) {
        throw new IllegalStateException("the loop did not stop within 30 s");
      }
    }
  }

  // ---- producing ----

  <V extends SpecificRecord> void produce(String topic, List<Map.Entry<String, V>> records)
      throws Exception {
    Map<String, Object> props = infra.producerProps();
    props.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.registryUrl());
    AvroSerializer<V> values = new AvroSerializer<>();
    values.configure(props, false);
    try (KafkaProducer<String, V> producer =
        new KafkaProducer<>(props, new StringSerializer(), values)) {
      for (Map.Entry<String, V> r : records) {
        producer.send(new ProducerRecord<>(topic, r.getKey(), r.getValue())).get();
      }
    }
  }

  void produceDemonstrations(int count, long seed) throws Exception {
    produceDemonstrations(count, seed, 1);
  }

  /**
   * {@code count} demonstrations, each sent {@code copies} times with the same event id (a retried
   * event).
   */
  void produceDemonstrations(int count, long seed, int copies) throws Exception {
    Random random = new Random(seed);
    List<Map.Entry<String, Demonstration>> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int a = random.nextInt(10);
      int b = random.nextInt(10);
      String id = "demo-" + seed + "-" + i;
      out.add(
          Map.entry(
              id,
              Demonstration.newBuilder()
                  .setEventId(UUID.randomUUID().toString())
                  .setEventTime(Instant.now())
                  .setDemonstrationId(id)
                  .setAppId("test")
                  .setTurns(List.of(new Turn(Role.USER, "What is " + a + " plus " + b + "?")))
                  .setResponse("ANSWER: " + (a + b))
                  .setAnnotatorId("writer-1")
                  .build()));
    }
    List<Map.Entry<String, Demonstration>> sent = new ArrayList<>();
    for (int c = 0; c < copies; c++) {
      sent.addAll(out);
    }
    produce(config.getDemonstrationsTopic(), sent);
  }

  void produceTranscripts(int count, long seed) throws Exception {
    Random random = new Random(seed);
    List<Map.Entry<String, ChatTranscript>> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int a = random.nextInt(10);
      int b = random.nextInt(10);
      String prompt = "What is " + a + " plus " + b + "?";
      String id = "t-" + seed + "-" + i;
      out.add(
          Map.entry(
              id,
              ChatTranscript.newBuilder()
                  .setEventId(UUID.randomUUID().toString())
                  .setEventTime(Instant.now())
                  .setTranscriptId(id)
                  .setConversationId("c-" + i)
                  .setAppId("test")
                  .setTurns(List.of(new Turn(Role.USER, prompt)))
                  .setPrompt(prompt)
                  .setResponses(
                      List.of(
                          CandidateResponse.newBuilder()
                              .setResponseId("r1")
                              .setText("ANSWER: 1")
                              .setPolicyVersion(1L)
                              .build()))
                  .build()));
    }
    produce(config.getTranscriptsTopic(), out);
  }

  /**
   * {@code n} arithmetic prompts ("What is a plus b?", as {a, b}) whose prompt key puts them in the
   * held-out (EVAL) split at the pair assembler's eval fraction 0.1, or in the TRAIN split.
   */
  static List<int[]> promptsOfSplit(boolean heldOut, int n) {
    List<int[]> out = new ArrayList<>();
    for (int i = 0; i < 100 && out.size() < n; i++) {
      int a = i / 10;
      int b = i % 10;
      String key = Splits.promptKey(List.of(ChatTurn.user(arithmetic(a, b))));
      if (Splits.isHeldOutPrompt(key, 0.1) == heldOut) {
        out.add(new int[] {a, b});
      }
    }
    if (out.size() < n) {
      throw new IllegalStateException("not enough prompts in the split");
    }
    return out;
  }

  private static String arithmetic(int a, int b) {
    return "What is " + a + " plus " + b + "?";
  }

  /**
   * A ranked group as the pair assembler writes it, for "What is a plus b?": {@code k} (2 or 3)
   * candidates best first — the right answer, a wrong one, a refusal — one tier each, so all C(k,
   * 2) pairs; the split from the prompt key.
   */
  static ComparisonGroup comparisonGroup(String id, int[] ab, int k) {
    String prompt = arithmetic(ab[0], ab[1]);
    String key = Splits.promptKey(List.of(ChatTurn.user(prompt)));
    List<String> texts =
        List.of("ANSWER: " + (ab[0] + ab[1]), "ANSWER: " + (ab[0] + ab[1] + 1), "I cannot say.");
    List<RankedResponse> responses = new ArrayList<>();
    List<ComparisonPair> pairs = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      responses.add(new RankedResponse("r" + i, texts.get(i), i, 1L));
      for (int j = i + 1; j < k; j++) {
        pairs.add(new ComparisonPair("r" + i, "r" + j));
      }
    }
    return ComparisonGroup.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setEventTime(Instant.now())
        .setGroupId(id)
        .setRankingId(id)
        .setTranscriptId("t-" + id)
        .setPromptKey(key)
        .setTurns(List.of(new Turn(Role.USER, prompt)))
        .setPrompt(prompt)
        .setResponses(responses)
        .setPairs(pairs)
        .setPairWeight(1.0 / pairs.size())
        .setAnnotatorIds(List.of("labeler-1"))
        .setSplit(Splits.isHeldOutPrompt(key, 0.1) ? DataSplit.EVAL : DataSplit.TRAIN)
        .setPolicyVersions(List.of(1L))
        .setSourceOffsets(List.of())
        .build();
  }

  void produceComparisons(List<ComparisonGroup> groups) throws Exception {
    List<Map.Entry<String, ComparisonGroup>> out = new ArrayList<>();
    for (ComparisonGroup g : groups) {
      out.add(Map.entry(g.getPromptKey(), g));
    }
    produce(config.getComparisonsTopic(), out);
  }

  void publishRewardModel(long version, ModelStatus status, String uri, String sha, double offset)
      throws Exception {
    RewardModelVersion v =
        RewardModelVersion.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setEventTime(Instant.now())
            .setVersion(version)
            .setStatus(status)
            .setCreatedAt(Instant.now())
            .setArtifactUri(uri)
            .setArtifactSha256(sha)
            .setRewardOffset(offset)
            .setMetrics(Map.of("eval_accuracy", 0.9))
            .setTrainingData(List.<OffsetRange>of())
            .build();
    produce(config.getRewardVersionsTopic(), List.of(Map.entry(Long.toString(version), v)));
  }

  /**
   * A tiny reward model trained (40 steps) to prefer answers in the "ANSWER: n" format over the
   * same digits without it; saved with ModelArtifacts under the artifact root.
   *
   * @return {uri, sha256}
   */
  String[] trainRewardModel(String name) throws Exception {
    ChatTemplate chat = new ChatTemplate();
    Random random = new Random(5);
    Engine.getInstance().setRandomSeed(5);
    try (NDManager manager = NDManager.newBaseManager();
        RewardModel rm = RewardModel.create(GptConfig.tiny(), manager)) {
      Learner learner =
          new Learner(OptimizerConfig.adamW(LearningRateSchedule.constant(2e-3f, 5)), rm);
      for (int step = 0; step < 40; step++) {
        learner.step(
            (sm, micro) -> {
              List<int[]> sequences = new ArrayList<>();
              List<List<PairwiseRewardLoss.Comparison>> groups = new ArrayList<>();
              for (int g = 0; g < 8; g++) {
                int a = random.nextInt(10);
                int b = random.nextInt(10);
                List<ChatTurn> q = List.of(ChatTurn.user("What is " + a + " plus " + b + "?"));
                int offset = sequences.size();
                sequences.add(chat.encode(append(q, "ANSWER: " + (a + b))));
                sequences.add(chat.encode(append(q, String.valueOf(random.nextInt(100)) + "?!")));
                groups.add(PairwiseRewardLoss.fromRanking(offset, offset + 1));
              }
              TokenBatch batch = TokenBatch.of(sm, sequences, TokenBatch.Side.RIGHT);
              return PairwiseRewardLoss.compute(
                      rm.scores(batch.tokens(), batch.mask(), true), groups)
                  .loss();
            });
      }
      Path dir = root.resolve("artifacts").resolve("reward").resolve(name);
      String sha = ModelArtifacts.save(dir, rm, ByteTokenizer.INSTANCE, Map.of("version", name));
      return new String[] {dir.toUri().toString(), sha};
    }
  }

  private static List<ChatTurn> append(List<ChatTurn> q, String answer) {
    List<ChatTurn> all = new ArrayList<>(q);
    all.add(ChatTurn.assistant(answer));
    return all;
  }

  // ---- reading ----

  <V extends SpecificRecord> List<ConsumerRecord<String, V>> readAll(String topic, Class<V> type) {
    Map<String, Object> props = new HashMap<>(infra.consumerProps(infra.uniqueName("reader")));
    props.put("isolation.level", "read_committed");
    AvroDeserializer<V> values = new AvroDeserializer<>();
    values.configure(
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            infra.registryUrl(),
            AvroSerdeConfig.SPECIFIC_TYPE,
            type),
        false);
    List<ConsumerRecord<String, V>> out = new ArrayList<>();
    try (KafkaConsumer<String, V> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), values)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long deadline = System.currentTimeMillis() + 20_000;
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  List<PolicyVersion> policyVersions() {
    return readAll(config.getPolicyVersionsTopic(), PolicyVersion.class).stream()
        .map(ConsumerRecord::value)
        .filter(v -> v != null)
        .toList();
  }

  List<TrainingMetrics> metrics() {
    return readAll(config.getMetricsTopic(), TrainingMetrics.class).stream()
        .map(ConsumerRecord::value)
        .toList();
  }

  /** The latest record of every version, ascending. */
  List<PolicyVersion> latestPolicyVersions() {
    java.util.TreeMap<Long, PolicyVersion> latest = new java.util.TreeMap<>();
    for (PolicyVersion v : policyVersions()) {
      latest.put(v.getVersion(), v);
    }
    return List.copyOf(latest.values());
  }

  /** Waits until the latest record of some version matches {@code condition}. */
  PolicyVersion awaitVersion(
      Predicate<PolicyVersion> condition, Duration timeout, PolicyTrainerStatus status)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeout.toMillis();
    while (System.currentTimeMillis() < deadline) {
      for (PolicyVersion v : latestPolicyVersions()) {
        if (condition.test(v)) {
          return v;
        }
      }
      if (status != null && status.phase() == PolicyTrainerStatus.Phase.FAILED) {
        throw new AssertionError("the loop failed: " + status.lastError());
      }
      Thread.sleep(300);
    }
    throw new AssertionError(
        "no matching policy version within " + timeout + "; versions: " + policyVersions());
  }
}
