package dev.flywheel.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.infra.support.Ports;
import dev.flywheel.local.FlywheelService;
import dev.flywheel.local.Platform;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.support.FileTrees;
import dev.flywheel.simulator.EvaluationReport;
import dev.flywheel.simulator.Simulator;
import dev.flywheel.simulator.SimulatorConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The whole loop across processes on a real KRaft broker and a real schema registry, every service
 * as its own JVM (the local platform's launcher): demonstrations → SFT version; served completions
 * and synthetic rankings → comparison groups → reward version → PPO policy version (its rollouts
 * sampled by two rollout-worker processes over Kafka) → live in serving → transcripts carry the new
 * version. Mid-run the pair assembler and the reward trainer (after its first mid-round checkpoint,
 * so the round must resume from it) are killed with SIGKILL and restarted, and one rollout worker
 * is killed with SIGKILL while it answers a request of the RL round (and left dead; the reward
 * trainer is stopped once its first version is accepted, the RL round needs only that); the test
 * then proves the round resumed, no ranking was lost or duplicated, every RL iteration trained on
 * exactly one worker batch with none lost, checks lineage, and that the PPO policy's mean gold
 * score on held-out prompts beats its own SFT parent's — its KL reference, which with {@code
 * sft-continue} is usually a later SFT version than the first (64 answers per prompt at the loop's
 * temperature, judged once the trainers are stopped; the held-out labeler's win rate and the greedy
 * scores are reported).
 */
@Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
class FlywheelLoopTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static Platform platform;
  private static Simulator simulator;
  private static Path dataDir;
  private static final List<String> timeline = new ArrayList<>();
  private static final Map<String, Integer> deadLetterReasons = new java.util.TreeMap<>();
  private static final Instant started = Instant.now();
  private static boolean passed;

  @BeforeAll
  static void startPlatform() throws Exception {
    Path repoRoot =
        Path.of(System.getProperty("flywheel.repo.root", "..")).toAbsolutePath().normalize();
    dataDir = Files.createTempDirectory("flywheel-e2e");
    Map<FlywheelService, Map<String, String>> tuning = new HashMap<>();
    // sized so that the whole loop turns within minutes on two shared cores
    tuning.put(
        FlywheelService.REWARD_TRAINER,
        Map.of(
            "flywheel.reward-trainer.round-max-wait", "3m",
            "flywheel.reward-trainer.round-min-groups", "400",
            "flywheel.reward-trainer.checkpoint-every-steps", "10",
            // the seed's point-estimate gate, not the default 95% bounds: at this test's data
            // volume (400-800 groups) the reward model scores 0.49-0.59 against held-out labelers
            // and its interval straddles chance for one to three rounds (measured: first version
            // accepted at round 2 or 3, the test then ran 862-1,150 s), which the suite's time
            // cannot afford. The bounds-based gate is tested in reward-trainer (RewardGateTest,
            // RewardTrainerLearningTest); this test is about the loop's mechanics under failure.
            "flywheel.reward-trainer.gate-confidence", "0"));
    tuning.put(FlywheelService.POLICY_TRAINER, policyTrainerTuning());
    tuning.put(FlywheelService.SERVING, Map.of("flywheel.serving.canary-share", "0"));
    // a SIGKILLed worker's partitions go to the other one after this (Kafka's default is 45 s)
    tuning.put(
        FlywheelService.ROLLOUT_WORKER,
        Map.of("flywheel.kafka.properties.session.timeout.ms", "10000"));
    // RL rollouts sampled by two worker processes over Kafka (S = 0: the same samples the trainer
    // would draw itself)
    int rolloutWorkers = 2;
    Platform.Settings settings =
        Platform.Settings.defaults(repoRoot)
            .withDataDir(dataDir)
            .withPorts(
                Ports.freePort(),
                Ports.freePort(),
                // a port per service, the rollout workers' from the last service's on
                Ports.freeRange(FlywheelService.values().length - 1 + rolloutWorkers))
            .withServiceProperties(tuning)
            .withRolloutWorkers(rolloutWorkers);
    platform = Platform.start(settings, FlywheelLoopTest::log);
    SimulatorConfig config =
        SimulatorConfig.builder()
            .servingUrl(URI.create(platform.url(FlywheelService.SERVING)))
            .gatewayUrl(URI.create(platform.url(FlywheelService.FEEDBACK_GATEWAY)))
            .registryUrl(URI.create(platform.url(FlywheelService.MODEL_REGISTRY)))
            .servingKey(platform.apiKey())
            .gatewayKey(platform.apiKey())
            .registryKey(platform.apiKey())
            .demonstrations(2000)
            .rate(6)
            .concurrency(2)
            .duration(Duration.ofMinutes(20))
            .count(10_000)
            .progressEvery(Duration.ofSeconds(20))
            // 3,200 answers per version, the same sampling seeds for every version: PPO's gain over
            // its parent is +0.00 to +0.04 at the defaults, and at 32 samples (noise of the
            // difference ~0.012) one run in seven measured it below zero (-0.004); 64 halve the
            // sampling noise's variance for ~20 s more
            .evalSamples(64)
            // judged once, at the end, when only serving runs: collecting every new version's
            // 3,200 answers while it served (the simulator's default) took 152 s and 177 s of
            // serving's time in the loop, beside the traffic the reward round waits for and the
            // reward round itself; at 16 requests in flight (4 by default) serving decodes them in
            // larger batches: two versions and the greedy answers took 35-38 s at the end, one
            // version at 4 took 53 s (its first 12 s beside the trainers)
            .evalOnNewVersion(false)
            .evalConcurrency(16)
            // a quarter of the rankings on held-out prompts: the reward trainer's gate needs its
            // 100
            // eval groups (min-eval-groups) by the time 400 train groups are there, not after 1,000
            // rankings
            .heldOutRankingShare(0.25)
            .build();
    simulator = new Simulator(config, FlywheelLoopTest::log);
  }

  /**
   * One SFT round on every demonstration, then PPO on the simulator's prompts only. {@code
   * -Dflywheel.e2e.ptx-coef=0} runs the loop's PPO without its demonstration term (the PPO-ptx
   * coefficient, default 1), to see the reward model's share of the gain alone.
   */
  private static Map<String, String> policyTrainerTuning() {
    Map<String, String> tuning = new HashMap<>();
    tuning.put("flywheel.policy-trainer.min-demonstrations", "2000");
    tuning.put("flywheel.policy-trainer.sft-retrain", "false");
    tuning.put("flywheel.policy-trainer.builtin-prompts", "false");
    String ptx = System.getProperty("flywheel.e2e.ptx-coef");
    if (ptx != null && !ptx.isBlank()) {
      tuning.put("flywheel.policy-trainer.ppo.ptx-coef", ptx);
    }
    return tuning;
  }

  @AfterAll
  static void stopPlatform() {
    if (simulator != null) {
      simulator.stop();
      simulator.close();
    }
    if (platform != null) {
      platform.close();
    }
    if (passed) {
      FileTrees.deleteQuietly(dataDir);
    } else {
      log("kept for inspection: " + dataDir + " (service logs in logs/)");
    }
    log("timeline:\n  " + String.join("\n  ", timeline));
  }

  @Test
  void theFlywheelTurnsAndLosesNothing() throws Exception {
    int demos = simulator.postDemonstrations();
    mark("demonstrations posted: " + demos);

    JsonNode sft =
        awaitVersion(
            "policy",
            v -> "SFT".equals(v.path("stage").asText()) && "LIVE".equals(v.path("status").asText()),
            Duration.ofMinutes(8));
    long sftVersion = sft.path("version").asLong();
    mark("first SFT version " + sftVersion + " LIVE");
    awaitServedVersion(sftVersion, Duration.ofMinutes(2));
    mark("serving answers with SFT v" + sftVersion);

    Thread loop =
        new Thread(
            () -> {
              try {
                simulator.runLoop();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "simulator-loop");
    loop.start();

    // chaos: SIGKILL the pair assembler once rankings flow, then the reward trainer while it trains
    awaitCondition(
        "rankings flowing",
        () -> simulator.stats().snapshot().rankings() >= 40,
        Duration.ofMinutes(3));
    platform.service(FlywheelService.PAIR_ASSEMBLER).kill();
    mark(
        "pair-assembler killed (SIGKILL) after "
            + simulator.stats().snapshot().rankings()
            + " rankings");
    Thread.sleep(3_000);
    platform.service(FlywheelService.PAIR_ASSEMBLER).start();
    mark("pair-assembler restarted");

    // killed after its first mid-round checkpoint, so that the restarted trainer must resume the
    // round
    boolean midRound =
        poll(
            () ->
                rewardTrainerMeter("reward_trainer_checkpoints") >= 1
                    && rewardTrainerMeter("reward_trainer_training") == 1,
            Duration.ofMinutes(6),
            100);
    // the step proves a resume only if the kill lands mid-round: a kill between rounds would pass
    // silently
    assertTrue(
        midRound,
        "no reward-trainer round with a checkpoint seen within 6 min; timeline: " + timeline);
    platform.service(FlywheelService.REWARD_TRAINER).kill();
    mark("reward-trainer killed (SIGKILL) mid-round, after a checkpoint");
    platform.service(FlywheelService.REWARD_TRAINER).start();
    mark("reward-trainer restarted");

    // 12 minutes: room for a second round should the gate reject the first (it rejects a model it
    // cannot tell
    // from chance on the eval groups, and the trainer goes on with the next groups, as it would in
    // production)
    JsonNode reward =
        awaitVersion(
            "reward", v -> "LIVE".equals(v.path("status").asText()), Duration.ofMinutes(12));
    for (JsonNode rejected : versions("reward")) {
      if ("REJECTED".equals(rejected.path("status").asText())) {
        mark(
            String.format(
                "reward version %d REJECTED by the gate: eval accuracy %.3f on %.0f pairs, eval loss %.3f",
                rejected.path("version").asLong(),
                rejected.path("metrics").path("eval_accuracy").asDouble(),
                rejected.path("metrics").path("eval_pairs").asDouble(),
                rejected.path("metrics").path("eval_loss").asDouble()));
      }
    }
    JsonNode m = reward.path("metrics");
    mark(
        String.format(
            "first accepted reward version %d: eval accuracy %.3f on %.0f pairs, eval loss %.3f, "
                + "best epoch %.0f of %.0f run (validation loss %.3f), resumed from step %.0f",
            reward.path("version").asLong(),
            m.path("eval_accuracy").asDouble(),
            m.path("eval_pairs").asDouble(),
            m.path("eval_loss").asDouble(),
            m.path("best_epoch").asDouble(Double.NaN),
            m.path("epochs_run").asDouble(Double.NaN),
            m.path("validation_loss").asDouble(Double.NaN),
            m.path("resumed_from_step").asDouble()));
    JsonNode killedRound = get("/api/versions/reward/1");
    assertTrue(
        killedRound.path("metrics").path("resumed_from_step").asDouble() > 0,
        "the round killed mid-way resumed from its checkpoint: " + killedRound.path("metrics"));
    // the reward trainer has shown what this test asks of it; its next rounds (on the rankings
    // that keep coming) would share the two cores with the RL round, which reads the reward model
    // from the registry, not from the trainer
    platform.service(FlywheelService.REWARD_TRAINER).kill();
    mark("reward-trainer stopped (SIGKILL) after its first accepted version");

    // chaos: SIGKILL a rollout worker while it answers a request of the RL round
    int victim = -1;
    long deadline = System.nanoTime() + Duration.ofMinutes(6).toNanos();
    while (victim < 0 && System.nanoTime() < deadline) {
      for (int w = 0; w < 2 && victim < 0; w++) {
        if (workerMeter(w, "flywheel_rollout_worker_busy") == 1
            && workerMeter(w, "flywheel_rollout_worker_requests_total") >= 1) {
          victim = w;
        }
      }
      Thread.sleep(50);
    }
    assertTrue(victim >= 0, "no rollout worker seen mid-request within 6 min; " + timeline);
    platform.rolloutWorker(victim).kill();
    mark("rollout-worker " + victim + " killed (SIGKILL) mid-request");

    JsonNode ppo =
        awaitVersion(
            "policy",
            v -> "PPO".equals(v.path("stage").asText()) && "LIVE".equals(v.path("status").asText()),
            // room for one REJECTED round first (the policy trainer's gate, before it asked for a
            // fall shown by an interval, rejected the first PPO version in one run of seven, on a
            // held-out reward 0.019 below its parent's; the next RL round came 3 minutes later)
            Duration.ofMinutes(13));
    long ppoVersion = ppo.path("version").asLong();
    mark("first PPO version " + ppoVersion + " LIVE");
    awaitServedVersion(ppoVersion, Duration.ofMinutes(2));
    mark("serving answers with PPO v" + ppoVersion);

    simulator.stop();
    loop.join(Duration.ofMinutes(1).toMillis());
    mark("simulator stopped: " + simulator.stats().snapshot());

    SchemaRegistryClient registry = new HttpSchemaRegistryClient(platform.registryUrl());
    assertTranscriptsCarryVersion(registry, ppoVersion);
    assertEveryRankingBecameExactlyOneGroupOrDeadLetter(registry);
    assertLineage(ppo, sftVersion);
    assertRolloutsFromTheWorkers(registry, ppo, victim);

    // what follows asks serving only; the policy trainer goes on with its next round (RL or SFT)
    // and would share serving's two cores with it: the evaluation of one version took 138 s with
    // the trainers running
    platform.service(FlywheelService.POLICY_TRAINER).kill();
    platform.rolloutWorker(1 - victim).kill();
    mark("policy-trainer and the surviving rollout worker stopped (SIGKILL) before the evaluation");

    // judged as served: 64 answers per held-out prompt at the loop's temperature and one greedy
    // answer, asked of serving now, which holds only the live version and the one before it
    // (keep-previous 1): the PPO version and its SFT parent (its KL reference: with sft-continue
    // usually a later SFT version than the first)
    long parentSft = ppo.path("hyperparameters").path("reference_version").asLong(sftVersion);
    List<Long> judged = List.of(parentSft, ppoVersion);
    EvaluationReport report = simulator.evaluation().evaluateVersions(judged, parentSft);
    log("\n" + report.table());
    EvaluationReport greedy =
        simulator
            .evaluation(simulator.evaluation().settings().greedy())
            .evaluateVersions(judged, parentSft);
    log("\n" + greedy.table());
    mark("held-out evaluation done");
    EvaluationReport.VersionScore ppoScore = report.version(ppoVersion).orElseThrow();
    EvaluationReport.VersionScore parentScore = report.version(parentSft).orElseThrow();
    mark(
        String.format(
            "held-out gold (%d prompts x %d samples, temperature %.1f): PPO's SFT parent v%d "
                + "%.3f (first SFT v%d), PPO v%d %.3f (ptx-coef %s; PPO - parent %s, paired "
                + "bootstrap over prompts); PPO win rate vs its parent %.3f (held-out labeler); "
                + "greedy: SFT parent %.3f, PPO %.3f",
            report.heldOutPrompts(),
            report.samples(),
            report.temperature(),
            parentSft,
            parentScore.meanGold(),
            sftVersion,
            ppoVersion,
            ppoScore.meanGold(),
            ppo.path("hyperparameters").path("ppo.ptx-coef").asText("?"),
            ppoScore.goldGain(),
            ppoScore.winRate(),
            greedy.version(parentSft).orElseThrow().meanGold(),
            greedy.version(ppoVersion).orElseThrow().meanGold()));
    for (EvaluationReport.VersionScore score : List.of(ppoScore, parentScore)) {
      assertEquals(
          report.heldOutPrompts() * report.samples(),
          score.answered(),
          "v" + score.version() + " answered every held-out prompt");
    }
    assertTrue(
        ppoScore.comparisons() > 0 && !Double.isNaN(ppoScore.winRate()),
        "PPO judged against its SFT parent");
    assertTrue(
        ppoScore.meanGold() > parentScore.meanGold(),
        String.format(
            "the PPO policy's held-out gold %.3f beats its own SFT parent v%d's %.3f",
            ppoScore.meanGold(), parentSft, parentScore.meanGold()));
    passed = true;
  }

  private static void assertTranscriptsCarryVersion(SchemaRegistryClient registry, long version) {
    List<ConsumerRecord<String, ChatTranscript>> transcripts =
        Topics.readAll(
            platform.bootstrapServers(),
            registry,
            dev.flywheel.schemas.topics.Topics.CHAT_TRANSCRIPTS.name(),
            ChatTranscript.class);
    long stamped =
        transcripts.stream()
            .flatMap(r -> r.value().getResponses().stream())
            .filter(c -> c.getPolicyVersion() != null && c.getPolicyVersion() == version)
            .count();
    mark(
        transcripts.size() + " transcripts on the topic, " + stamped + " responses by v" + version);
    assertTrue(stamped > 0, "a transcript carries the PPO version " + version);
    assertTrue(
        transcripts.stream()
            .allMatch(
                r -> r.value().getResponses().stream().allMatch(c -> c.getPolicyVersion() != null)),
        "every served response is stamped with its version");
  }

  private static void assertEveryRankingBecameExactlyOneGroupOrDeadLetter(
      SchemaRegistryClient registry) throws InterruptedException {
    String bootstrap = platform.bootstrapServers();
    List<ConsumerRecord<String, HumanRanking>> rankings =
        Topics.readAll(
            bootstrap,
            registry,
            dev.flywheel.schemas.topics.Topics.FEEDBACK_RANKINGS.name(),
            HumanRanking.class);
    Set<String> rankingIds = new HashSet<>();
    rankings.forEach(r -> rankingIds.add(r.value().getRankingId()));
    assertEquals(rankings.size(), rankingIds.size(), "the gateway wrote each ranking once");
    long acknowledged = simulator.stats().snapshot().rankings();
    assertTrue(
        rankingIds.size() >= acknowledged,
        rankingIds.size() + " rankings on the topic but the gateway acknowledged " + acknowledged);

    // the assembler may still be catching up after its restart: wait until every ranking is
    // accounted for
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    Map<String, Integer> groups;
    Set<String> deadLettered;
    while (true) {
      groups = new HashMap<>();
      for (ConsumerRecord<String, ComparisonGroup> g :
          Topics.readAll(
              bootstrap,
              registry,
              dev.flywheel.schemas.topics.Topics.TRAINING_COMPARISONS.name(),
              ComparisonGroup.class)) {
        groups.merge(g.value().getRankingId(), 1, Integer::sum);
      }
      deadLettered = deadLetteredRankings(registry);
      Set<String> accounted = new HashSet<>(groups.keySet());
      accounted.addAll(deadLettered);
      if (accounted.containsAll(rankingIds) || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(2_000);
    }
    List<String> duplicated =
        groups.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
    Set<String> missing = new HashSet<>(rankingIds);
    missing.removeAll(groups.keySet());
    missing.removeAll(deadLettered);
    Set<String> both = new HashSet<>(groups.keySet());
    both.retainAll(deadLettered);
    mark(
        rankingIds.size()
            + " rankings -> "
            + groups.size()
            + " comparison groups + "
            + deadLettered.size()
            + " dead letters "
            + deadLetterReasons
            + "; duplicates "
            + duplicated.size()
            + ", missing "
            + missing.size());
    assertTrue(duplicated.isEmpty(), "groups emitted twice: " + duplicated);
    assertTrue(missing.isEmpty(), "rankings lost: " + missing);
    assertTrue(both.isEmpty(), "rankings both grouped and dead-lettered: " + both);
    assertFalse(groups.isEmpty(), "some rankings became comparison groups");
  }

  private static Set<String> deadLetteredRankings(SchemaRegistryClient registry) {
    AvroDeserializer<HumanRanking> rankingReader =
        new AvroDeserializer<>(registry, HumanRanking.class);
    Set<String> ids = new HashSet<>();
    deadLetterReasons.clear();
    for (ConsumerRecord<String, DeadLetter> d :
        Topics.readAll(
            platform.bootstrapServers(),
            registry,
            dev.flywheel.schemas.topics.Topics.DEAD_LETTERS.name(),
            DeadLetter.class)) {
      DeadLetter letter = d.value();
      if (letter
              .getSourceTopic()
              .equals(dev.flywheel.schemas.topics.Topics.FEEDBACK_RANKINGS.name())
          && letter.getRawValue() != null) {
        byte[] raw = new byte[letter.getRawValue().remaining()];
        letter.getRawValue().duplicate().get(raw);
        deadLetterReasons.merge(letter.getErrorType(), 1, Integer::sum);
        try {
          ids.add(rankingReader.deserialize(letter.getSourceTopic(), raw).getRankingId());
        } catch (RuntimeException undecodable) {
          // not a ranking we posted
        }
      }
    }
    return ids;
  }

  private static void assertLineage(JsonNode ppo, long sftVersion) throws Exception {
    long rewardVersion = ppo.path("rewardModelVersion").asLong(-1);
    assertTrue(rewardVersion > 0, "the PPO version names the reward model it optimised: " + ppo);
    JsonNode lineage = get("/api/versions/policy/" + ppo.path("version").asLong() + "/lineage");
    String text = lineage.toString();
    assertTrue(
        text.contains("\"version\":" + rewardVersion),
        "lineage names reward v" + rewardVersion + ": " + text);
    List<Long> parents = new ArrayList<>();
    ppo.path("parentVersions").forEach(p -> parents.add(p.asLong()));
    assertTrue(
        parents.contains(sftVersion) || text.contains("\"version\":" + sftVersion),
        "lineage reaches the SFT root v" + sftVersion + ": " + text);
    JsonNode reward = get("/api/versions/reward/" + rewardVersion);
    assertTrue(
        reward.path("trainingData").size() > 0,
        "the reward version records its comparison offsets");
  }

  /**
   * The reward trainer's Prometheus sample {@code name} (counters carry a {@code _total} suffix),
   * or -1.
   */
  /**
   * The RL version trained on worker batches: one per iteration, each iteration's request answered
   * (none lost to the SIGKILL), none used twice, all at staleness 0, the killed worker's last
   * request answered by the other one.
   */
  private static void assertRolloutsFromTheWorkers(
      SchemaRegistryClient registry, JsonNode ppo, int victim) {
    String batchesTopic = dev.flywheel.schemas.topics.Topics.ROLLOUT_BATCHES.name();
    String requestsTopic = dev.flywheel.schemas.topics.Topics.ROLLOUT_REQUESTS.name();
    assertEquals("workers", ppo.path("hyperparameters").path("rollout.source").asText());
    String learner = ppo.path("hyperparameters").path("round_id").asText();
    int iterations = ppo.path("hyperparameters").path("ppo.iterations-per-round").asInt();
    List<long[]> used = new ArrayList<>();
    ppo.path("trainingData")
        .forEach(
            r -> {
              if (batchesTopic.equals(r.path("topic").asText())) {
                used.add(
                    new long[] {
                      r.path("partition").asLong(),
                      r.path("fromOffset").asLong(),
                      r.path("untilOffset").asLong()
                    });
              }
            });
    Map<Integer, String> trainedBy = new java.util.TreeMap<>();
    for (ConsumerRecord<String, RolloutBatch> r :
        Topics.readAll(platform.bootstrapServers(), registry, batchesTopic, RolloutBatch.class)) {
      boolean inLineage =
          used.stream()
              .anyMatch(u -> u[0] == r.partition() && u[1] <= r.offset() && r.offset() < u[2]);
      if (!inLineage) {
        continue;
      }
      RolloutBatch b = r.value();
      assertEquals(learner, b.getLearnerId());
      int iteration = Integer.parseInt(b.getRequestId().split(":")[1]);
      assertEquals(iteration, b.getLearnerStep(), "S = 0: sampled from its own step's weights");
      assertTrue(
          trainedBy.put(iteration, b.getWorkerId()) == null,
          "iteration " + iteration + " used twice");
    }
    java.util.Set<Integer> requested = new java.util.TreeSet<>();
    for (ConsumerRecord<String, RolloutRequest> r :
        Topics.readAll(
            platform.bootstrapServers(), registry, requestsTopic, RolloutRequest.class)) {
      if (learner.equals(r.value().getLearnerId())) {
        requested.add(Integer.parseInt(r.value().getRequestId().split(":")[1]));
      }
    }
    mark(
        "RL version "
            + ppo.path("version").asLong()
            + " trained on "
            + trainedBy.size()
            + " worker batches of "
            + requested.size()
            + " requested iterations; answered by "
            + new java.util.TreeMap<>(
                trainedBy.values().stream()
                    .collect(
                        java.util.stream.Collectors.groupingBy(
                            w -> w, java.util.stream.Collectors.counting()))));
    assertEquals(iterations, trainedBy.size(), "one batch per iteration in the lineage");
    assertEquals(trainedBy.keySet(), requested, "every requested iteration was trained on");
    String survivor = "rollout-worker-" + (1 - victim);
    assertTrue(
        trainedBy.values().stream().anyMatch(survivor::equals),
        "the surviving worker answered: " + trainedBy);
  }

  private static double workerMeter(int worker, String name) {
    return meter("http://127.0.0.1:" + platform.workerPort(worker) + "/prometheus", name);
  }

  private static double rewardTrainerMeter(String name) {
    return meter(platform.url(FlywheelService.REWARD_TRAINER) + "/prometheus", name);
  }

  private static double meter(String url, String name) {
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url)).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.body()
          .lines()
          .filter(
              l ->
                  l.startsWith(name + " ")
                      || l.startsWith(name + "_total ")
                      || l.startsWith(name + "{")
                      || l.startsWith(name + "_total{"))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
          .reduce(Double::sum) // a labelled meter: the sum of its series
          .orElse(-1);
    } catch (IOException | InterruptedException | NumberFormatException e) {
      return -1;
    }
  }

  private static JsonNode awaitVersion(String kind, Predicate<JsonNode> match, Duration timeout)
      throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<JsonNode> found = versions(kind).stream().filter(match).findFirst();
      if (found.isPresent()) {
        return found.get();
      }
      Thread.sleep(2_000);
    }
    throw new AssertionError(
        "no "
            + kind
            + " version matched within "
            + timeout
            + "; versions: "
            + versions(kind)
            + "\ntimeline: "
            + timeline);
  }

  private static List<JsonNode> versions(String kind) {
    List<JsonNode> out = new ArrayList<>();
    try {
      get("/api/versions/" + kind).path("versions").forEach(out::add);
    } catch (Exception e) {
      // registry not answering yet
    }
    return out;
  }

  private static void awaitServedVersion(long version, Duration timeout) throws Exception {
    String body =
        """
        {"model":"flywheel","messages":[{"role":"user","content":"What is 2+3?"}],"max_tokens":8}""";
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(
                      URI.create(platform.url(FlywheelService.SERVING) + "/v1/chat/completions"))
                  .header("Authorization", "Bearer " + platform.apiKey())
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      last = r.statusCode() + " " + r.body();
      if (r.statusCode() == 200
          && JSON.readTree(r.body())
              .path("system_fingerprint")
              .asText()
              .equals("policy-v" + version)) {
        return;
      }
      Thread.sleep(1_000);
    }
    throw new AssertionError(
        "serving did not answer with policy-v" + version + " within " + timeout + ": " + last);
  }

  private static JsonNode get(String path) throws IOException, InterruptedException {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(platform.url(FlywheelService.MODEL_REGISTRY) + path))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException(path + " -> " + r.statusCode() + " " + r.body());
    }
    return JSON.readTree(r.body());
  }

  private static boolean poll(
      java.util.function.BooleanSupplier condition, Duration timeout, long everyMillis)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(everyMillis);
    }
    return false;
  }

  private static void awaitCondition(
      String what, java.util.function.BooleanSupplier condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what + "; timeline: " + timeline);
      }
      Thread.sleep(1_000);
    }
  }

  private static void mark(String event) {
    String line =
        String.format(
            "%6.1fs %s", Duration.between(started, Instant.now()).toMillis() / 1000.0, event);
    timeline.add(line);
    log(line);
  }

  private static void log(String line) {
    System.out.println("[e2e] " + line);
  }
}
