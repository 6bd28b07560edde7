package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatRole;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.GroupRollout;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.Sampler;
import dev.flywheel.modelevents.RolloutEvents;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.ScoredRollout;
import dev.flywheel.policy.train.SourcedRollout;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.trainerkit.KafkaSettings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The learner's side of rollouts as events, on the real broker and registry with real (tiny) models
 * saved as artifacts. The workers are played by {@link RolloutResponder}, which answers requests
 * with the model library's {@link GroupRollout} (the code the rollout-worker service runs; the
 * service itself lives in its own module, and e2e-tests runs the two together).
 */
@ExtendWith(FlywheelInfraExtension.class)
class WorkerRolloutSourceTest {

  private static final int K = 2;
  private static final int MAX_NEW = 12;
  private static final float EOS_PENALTY = 0.5f;

  private static FlywheelInfra infra;
  private static NDManager manager;
  private static Path root;
  private static PolicyModel policy;
  private static String rewardUri;
  private static String rewardSha;

  @BeforeAll
  static void setUp(FlywheelInfra shared) throws IOException {
    infra = shared;
    manager = NDManager.newBaseManager();
    root = infra.newTempDirectory("learner-artifacts").toRealPath();
    policy = PolicyModel.create(GptConfig.tiny(), manager);
    RewardModel reward = RewardModel.create(GptConfig.tiny(), manager);
    Path rewardDir = root.resolve("reward/v3");
    rewardSha = ModelArtifacts.save(rewardDir, reward, ByteTokenizer.INSTANCE, Map.of());
    rewardUri = rewardDir.toUri().toString();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void onlyTheAlgorithmsThatTrainOnAScoredBatchTakeTheWorkersRollouts() {
    RolloutConfig workers = new RolloutConfig();
    workers.setSource(RolloutConfig.Source.WORKERS);
    PpoConfig ppo = new PpoConfig();
    for (PpoConfig.Algorithm a :
        List.of(PpoConfig.Algorithm.PPO, PpoConfig.Algorithm.RLOO, PpoConfig.Algorithm.GRPO)) {
      ppo.setAlgorithm(a);
      assertEquals(workers, PolicyTrainerLoop.validRollouts(workers, ppo), a.name());
    }
    for (PpoConfig.Algorithm a :
        List.of(PpoConfig.Algorithm.ONLINE_DPO, PpoConfig.Algorithm.RAFT)) {
      ppo.setAlgorithm(a);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> PolicyTrainerLoop.validRollouts(workers, ppo));
      assertTrue(
          e.getMessage().contains("rollout.source")
              && e.getMessage().contains(ppo.toMap().get("ppo.algorithm")),
          e.getMessage());
    }
  }

  @Test
  void synchronousBatchesAreTheSamplesTheTrainerWouldDrawItself() throws Exception {
    RolloutConfig config = config(0, Duration.ofMinutes(1));
    try (RolloutResponder workers = new RolloutResponder(infra, config, 1, false);
        WorkerRolloutSource source = source(config, "sync")) {
      Plan plan = new Plan(3);
      for (int it = 0; it < 3; it++) {
        SourcedRollout got = source.next(it, plan);
        assertEquals(0, got.staleness());
        ScoredRollout local = localRollout(plan.prompts(it), plan.seed(it));
        for (int row = 0; row < local.rollout().batchSize(); row++) {
          assertArrayEquals(
              local.rollout().responses().get(row),
              got.scored().rollout().responses().get(row),
              "iteration " + it + " row " + row);
          assertArrayEquals(
              local.rollout().prompts().get(row), got.scored().rollout().prompts().get(row));
        }
        assertArrayEquals(
            local.rollout().behaviourLogProbArray(),
            got.scored().rollout().behaviourLogProbArray(),
            1e-6f);
        assertArrayEquals(
            local.scores(), got.scored().scores(), 1e-5f, "scores, EOS penalty applied");
      }
      List<RolloutRequest> requests = workers.requests();
      assertEquals(3, requests.size(), "one request per iteration");
      for (RolloutRequest r : requests) {
        assertEquals(
            Integer.parseInt(r.getRequestId().split(":")[1]),
            r.getLearnerStep(),
            "S = 0: each request is issued from the weights of its own step");
      }
      assertEquals(3, offsets(source.lineage()), "the three batches trained on, as offsets");
    }
  }

  @Test
  void withStalenessOneNoBatchIsOlderThanOneStepAndRepeatedAnswersAreDropped() throws Exception {
    RolloutConfig config = config(1, Duration.ofMinutes(1));
    try (RolloutResponder workers = new RolloutResponder(infra, config, 2, false);
        WorkerRolloutSource source = source(config, "async")) {
      Plan plan = new Plan(4);
      List<Integer> staleness = new ArrayList<>();
      SourcedRollout last = null;
      for (int it = 0; it < 4; it++) {
        last = source.next(it, plan);
        staleness.add(last.staleness());
      }
      assertEquals(List.of(0, 1, 1, 1), staleness, "iteration i+1 is issued at step i");
      for (RolloutRequest r : workers.requests()) {
        int iteration = Integer.parseInt(r.getRequestId().split(":")[1]);
        assertEquals(Math.max(0, iteration - 1), r.getLearnerStep(), r.getRequestId());
      }
      assertEquals(1.0, last.metrics().get("off_policy_max"));
      assertEquals(0.0, last.metrics().get("off_policy_dropped"));
      assertEquals(4, offsets(source.lineage()), "one batch per iteration, none used twice");
      assertTrue(source.duplicates() >= 3, "second answers dropped: " + source.duplicates());
    }
  }

  @Test
  void anUnansweredRequestIsIssuedAgainAndATooStaleBatchIsDroppedAndIssuedAfresh()
      throws Exception {
    RolloutConfig config = config(0, Duration.ofSeconds(2));
    String learner = "retry-" + UUID.randomUUID();
    Plan plan = new Plan(2);
    // a batch for iteration 1 sampled at step 0 (as an earlier process of a resumed round might
    // have left it): 1 step old where the bound is 0
    publishBatch(config, learner, 1, 0, plan);
    try (RolloutResponder workers = new RolloutResponder(infra, config, 1, true);
        WorkerRolloutSource source = source(config, learner)) {
      SourcedRollout first = source.next(0, plan);
      assertEquals(1.0, first.metrics().get("rollout_reissued"), "the ignored first issue");
      SourcedRollout second = source.next(1, plan);
      assertEquals(0, second.staleness());
      assertEquals(1.0, second.metrics().get("off_policy_dropped"));
      assertEquals(2, offsets(source.lineage()));
    }
  }

  @Test
  void aRequestNobodyAnswersFailsTheRoundAfterMaxAttemptsNamingTheTopic() throws Exception {
    RolloutConfig config = config(0, Duration.ofMillis(300));
    config.setMaxAttempts(2);
    try (WorkerRolloutSource source = source(config, "unanswered")) {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> source.next(0, new Plan(1)));
      assertTrue(
          e.getMessage().contains("after 2 issues")
              && e.getMessage().contains(config.getRequestsTopic()),
          e.getMessage());
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private static RolloutConfig config(int staleness, Duration deadline) {
    RolloutConfig config = new RolloutConfig();
    config.setSource(RolloutConfig.Source.WORKERS);
    config.setMaxStaleness(staleness);
    config.setDeadline(deadline);
    config.setRequestsTopic(infra.uniqueName("rollout-requests"));
    config.setBatchesTopic(infra.uniqueName("rollout-batches"));
    infra.createTopic(config.getRequestsTopic(), 2);
    infra.createTopic(config.getBatchesTopic(), 2);
    return config.validate();
  }

  private static WorkerRolloutSource source(RolloutConfig config, String learner) {
    return new WorkerRolloutSource(
        new KafkaSettings(infra.bootstrapServers(), infra.registryUrl()),
        config,
        root,
        round(learner),
        policy,
        List.of(),
        0,
        () -> false);
  }

  private static WorkerRolloutSource.Round round(String learner) {
    return new WorkerRolloutSource.Round(
        learner, 4L, 3L, rewardUri, rewardSha, 0.1, 1.5, K, MAX_NEW, EOS_PENALTY, Instant.now());
  }

  /** Two chat prompts per iteration, seeds 100 + i. */
  private static final class Plan implements WorkerRolloutSource.Plan {
    private final int iterations;

    Plan(int iterations) {
      this.iterations = iterations;
    }

    @Override
    public List<int[]> prompts(int iteration) {
      ChatTemplate template = new ChatTemplate();
      return List.of(
          template.encodeForGeneration(
              List.of(new ChatTurn(ChatRole.USER, "Add " + iteration + " and 2."))),
          template.encodeForGeneration(List.of(new ChatTurn(ChatRole.USER, "Thank you!"))));
    }

    @Override
    public long seed(int iteration) {
      return 100 + iteration;
    }

    @Override
    public int iterations() {
      return iterations;
    }
  }

  /** What the trainer samples itself for the same prompts and seed (ScoredRollout.sample). */
  private static ScoredRollout localRollout(List<int[]> prompts, long seed) throws IOException {
    try (LoadedModel reward =
        ModelArtifacts.load(Path.of(URI.create(rewardUri)), rewardSha, manager)) {
      PpoConfig ppo = new PpoConfig();
      ppo.setMaxNewTokens(MAX_NEW);
      ppo.setMissingEosPenalty(EOS_PENALTY);
      // ScoredRollout.sample takes a batch of B prompts and samples the first B / K, K times each
      List<int[]> rows = new ArrayList<>(prompts);
      while (rows.size() < prompts.size() * K) {
        rows.add(prompts.get(0));
      }
      return ScoredRollout.sample(
          new Sampler(policy),
          new RewardModelScorer(reward.reward(), 0.1, 1.5),
          rows,
          K,
          ppo,
          seed);
    }
  }

  private static long offsets(List<OffsetRange> ranges) {
    return ranges.stream().mapToLong(r -> r.getUntilOffset() - r.getFromOffset()).sum();
  }

  private static void publishBatch(
      RolloutConfig config, String learner, int iteration, int step, Plan plan) throws Exception {
    try (LoadedModel reward =
        ModelArtifacts.load(Path.of(URI.create(rewardUri)), rewardSha, manager)) {
      RolloutRequest request =
          RolloutRequest.newBuilder()
              .setEventId("forged")
              .setRequestId(learner + ":" + iteration + ":" + step)
              .setEventTime(Instant.now())
              .setLearnerId(learner)
              .setPolicyVersion(4L)
              .setLearnerStep(step)
              .setPolicyArtifactUri("file:///unused")
              .setPolicyArtifactSha256("unused")
              .setRewardModelVersion(3L)
              .setRewardArtifactUri(rewardUri)
              .setRewardArtifactSha256(rewardSha)
              .setRewardOffset(0.1)
              .setRewardScale(1.5)
              .setPrompts(RolloutEvents.toPrompts(plan.prompts(iteration)))
              .setSamplesPerPrompt(K)
              .setSampling(
                  new dev.flywheel.events.SamplingParams(
                      1.0, 1.0, 0, MAX_NEW, plan.seed(iteration)))
              .setDeadline(Instant.now().plusSeconds(60))
              .build();
      RolloutBatch batch = RolloutResponder.answer(request, policy, reward.reward(), "forger");
      try (KafkaProducer<String, RolloutBatch> producer =
          RolloutResponder.producer(infra, RolloutBatch.class)) {
        producer
            .send(new ProducerRecord<>(config.getBatchesTopic(), batch.getRequestId(), batch))
            .get();
      }
    }
  }
}
