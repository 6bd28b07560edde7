package dev.flywheel.infra.contracts;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.ControlAction;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.Role;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutFinishReason;
import dev.flywheel.events.RolloutPrompt;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.RolloutSample;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.SourceOffset;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.events.Turn;
import dev.flywheel.schemas.DeadLetters;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/** One fully populated event of every contract, keyed by its catalogue topic. */
final class ContractSamples {

  private ContractSamples() {}

  static final Instant T = Instant.now().truncatedTo(ChronoUnit.MILLIS);

  static Map<TopicSpec<?>, SpecificRecord> all() {
    List<Turn> turns =
        List.of(new Turn(Role.SYSTEM, "Be concise."), new Turn(Role.USER, "What is 2+3?"));
    ChatTranscript transcript =
        ChatTranscript.newBuilder()
            .setEventId("ev-1")
            .setEventTime(T)
            .setTranscriptId("tr-1")
            .setConversationId("conv-1")
            .setAppId("app-1")
            .setUserId("u-9f2")
            .setTurns(turns)
            .setPrompt("What is 2+3?")
            .setResponses(
                List.of(
                    new CandidateResponse(
                        "r1", "5", 3L, new SamplingParams(0.7, 0.9, 0, 64, 42L), 2, "stop"),
                    new CandidateResponse("r2", "six ✓", 3L, null, 3, "length")))
            .build();
    HumanRanking ranking =
        HumanRanking.newBuilder()
            .setEventId("ev-2")
            .setEventTime(T)
            .setRankingId("rk-1")
            .setTranscriptId("tr-1")
            .setAppId("app-1")
            .setTiers(List.of(new RankTier(List.of("r1")), new RankTier(List.of("r2", "r3"))))
            .setAnnotatorId("ann-7")
            .setAnnotatorPool(AnnotatorPool.HELD_OUT)
            .setComment("close call")
            .build();
    Demonstration demonstration =
        Demonstration.newBuilder()
            .setEventId("ev-3")
            .setEventTime(T)
            .setDemonstrationId("d-1")
            .setAppId("app-1")
            .setTurns(turns)
            .setResponse("5")
            .setAnnotatorId("ann-7")
            .build();
    ComparisonGroup group =
        ComparisonGroup.newBuilder()
            .setEventId("ev-4")
            .setEventTime(T)
            .setGroupId("rk-1")
            .setRankingId("rk-1")
            .setTranscriptId("tr-1")
            .setPromptKey("9a0c")
            .setTurns(turns)
            .setPrompt("What is 2+3?")
            .setResponses(
                List.of(
                    new RankedResponse("r1", "5", 0, 3L), new RankedResponse("r2", "six", 1, 3L)))
            .setPairs(List.of(new ComparisonPair("r1", "r2")))
            .setPairWeight(1.0)
            .setAnnotatorIds(List.of("ann-7"))
            .setAnnotatorPool(AnnotatorPool.TRAINING)
            .setSplit(DataSplit.EVAL)
            .setPolicyVersions(List.of(3L))
            .setSourceOffsets(List.of(new SourceOffset("feedback.rankings", 2, 17L)))
            .build();
    RewardModelVersion reward =
        RewardModelVersion.newBuilder()
            .setEventId("ev-5")
            .setEventTime(T)
            .setVersion(4)
            .setParentVersion(3L)
            .setStatus(ModelStatus.LIVE)
            .setCreatedAt(T)
            .setArtifactUri("file:///artifacts/reward/4")
            .setArtifactSha256("ab".repeat(32))
            .setRewardOffset(-0.25)
            .setMetrics(Map.of("eval_accuracy", 0.71))
            .setHyperparameters(Map.of("learning_rate", "1e-4"))
            .setTrainingData(List.of(new OffsetRange("training.comparisons", 0, 0L, 120L)))
            .build();
    PolicyVersion policy =
        PolicyVersion.newBuilder()
            .setEventId("ev-6")
            .setEventTime(T)
            .setVersion(7)
            .setStage(PolicyStage.PPO)
            .setParentVersions(List.of(6L, 1L))
            .setRewardModelVersion(4L)
            .setStatus(ModelStatus.CANDIDATE)
            .setCreatedAt(T)
            .setArtifactUri("file:///artifacts/policy/7")
            .setArtifactSha256("cd".repeat(32))
            .setMetrics(Map.of("kl", 3.2))
            .setTrainingData(List.of())
            .build();
    ModelControl control =
        ModelControl.newBuilder()
            .setEventId("ev-7")
            .setEventTime(T)
            .setModelKind(ModelKind.POLICY)
            .setAction(ControlAction.ROLLBACK)
            .setVersion(7)
            .setRequestedBy("ops")
            .setReason("regressed")
            .build();
    TrainingMetrics metrics =
        TrainingMetrics.newBuilder()
            .setEventId("ev-8")
            .setEventTime(T)
            .setSource("reward-trainer")
            .setPhase("reward")
            .setModelVersion(4L)
            .setRound(2)
            .setStep(30)
            .setValues(Map.of("loss", 0.61, "accuracy", 0.68))
            .build();
    var deadLetter =
        DeadLetters.of(
            "pair-assembler",
            "ORPHAN_RANKING",
            "no transcript tr-x within 10m",
            "feedback.rankings",
            1,
            99L,
            "tr-x".getBytes(),
            new byte[] {0, 0, 0, 0, 1, 7});
    deadLetter.setEventTime(T);
    RolloutRequest rolloutRequest =
        RolloutRequest.newBuilder()
            .setEventId("ev-rr")
            .setRequestId("rr-1")
            .setEventTime(T)
            .setLearnerId("round-7")
            .setPolicyVersion(3L)
            .setLearnerStep(2)
            .setPolicyArtifactUri("file:///artifacts/rollout-snapshots/round-7/step-2")
            .setPolicyArtifactSha256("ab".repeat(32))
            .setRewardModelVersion(2L)
            .setRewardArtifactUri("file:///artifacts/reward/v2")
            .setRewardArtifactSha256("cd".repeat(32))
            .setRewardOffset(0.25)
            .setPrompts(List.of(new RolloutPrompt("pk-1", List.of(1, 72, 105, 2))))
            .setSamplesPerPrompt(2)
            .setSampling(new SamplingParams(1.0, 1.0, 0, 32, 42L))
            .setDeadline(T.plusSeconds(60))
            .build();
    RolloutBatch rolloutBatch =
        RolloutBatch.newBuilder()
            .setEventId("ev-rb")
            .setRequestId("rr-1")
            .setEventTime(T)
            .setLearnerId("round-7")
            .setPolicyVersion(3L)
            .setLearnerStep(2)
            .setPolicyArtifactSha256("ab".repeat(32))
            .setRewardModelVersion(2L)
            .setWorkerId("worker-a")
            .setPrompts(List.of(new RolloutPrompt("pk-1", List.of(1, 72, 105, 2))))
            .setSamples(
                List.of(
                    new RolloutSample(
                        0, List.of(53, 3), List.of(-0.5f, -0.1f), RolloutFinishReason.STOP, 1.5f),
                    new RolloutSample(
                        0,
                        List.of(54, 55),
                        List.of(-2.5f, -0.7f),
                        RolloutFinishReason.LENGTH,
                        -0.3f)))
            .setLoadMillis(12L)
            .setGenerationMillis(40L)
            .setScoringMillis(9L)
            .setGeneratedTokens(4L)
            .build();
    return Map.ofEntries(
        Map.entry(Topics.CHAT_TRANSCRIPTS, transcript),
        Map.entry(Topics.FEEDBACK_RANKINGS, ranking),
        Map.entry(Topics.FEEDBACK_DEMONSTRATIONS, demonstration),
        Map.entry(Topics.TRAINING_COMPARISONS, group),
        Map.entry(Topics.ROLLOUT_REQUESTS, rolloutRequest),
        Map.entry(Topics.ROLLOUT_BATCHES, rolloutBatch),
        Map.entry(Topics.REWARD_VERSIONS, reward),
        Map.entry(Topics.POLICY_VERSIONS, policy),
        Map.entry(Topics.MODEL_CONTROL, control),
        Map.entry(Topics.TRAINING_METRICS, metrics),
        Map.entry(Topics.DEAD_LETTERS, deadLetter));
  }
}
