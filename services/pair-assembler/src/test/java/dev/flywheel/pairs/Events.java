package dev.flywheel.pairs;

import dev.flywheel.events.AnnotatorPool;
import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.Role;
import dev.flywheel.events.Turn;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Test events. */
final class Events {

  private Events() {}

  static List<String> ids(int k) {
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= k; i++) {
      ids.add("r" + i);
    }
    return ids;
  }

  /**
   * A transcript with responses r1..rk; ri produced by policy version (i % 2) + 1, r1 app-written.
   */
  static ChatTranscript transcript(String transcriptId, String prompt, int k) {
    List<CandidateResponse> responses = new ArrayList<>();
    for (String id : ids(k)) {
      Long version = id.equals("r1") ? null : (long) (Integer.parseInt(id.substring(1)) % 2 + 1);
      responses.add(
          CandidateResponse.newBuilder()
              .setResponseId(id)
              .setText("answer " + id + " to " + prompt)
              .setPolicyVersion(version)
              .build());
    }
    return transcript(
        transcriptId,
        List.of(new Turn(Role.SYSTEM, "be helpful"), new Turn(Role.USER, prompt)),
        prompt,
        responses);
  }

  static ChatTranscript transcript(
      String transcriptId, List<Turn> turns, String prompt, List<CandidateResponse> responses) {
    return ChatTranscript.newBuilder()
        .setEventId("evt-" + transcriptId)
        .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L))
        .setTranscriptId(transcriptId)
        .setConversationId("conv-" + transcriptId)
        .setAppId("test-app")
        .setTurns(turns)
        .setPrompt(prompt)
        .setResponses(responses)
        .build();
  }

  @SafeVarargs
  static HumanRanking ranking(
      String rankingId, String transcriptId, String annotator, List<String>... tiers) {
    List<RankTier> rankTiers = new ArrayList<>();
    for (List<String> tier : tiers) {
      rankTiers.add(new RankTier(new ArrayList<>(tier)));
    }
    return HumanRanking.newBuilder()
        .setEventId("evt-" + rankingId)
        .setEventTime(Instant.ofEpochMilli(1_700_000_100_000L))
        .setRankingId(rankingId)
        .setTranscriptId(transcriptId)
        .setAppId("test-app")
        .setTiers(rankTiers)
        .setAnnotatorId(annotator)
        .setAnnotatorPool(AnnotatorPool.TRAINING)
        .build();
  }

  /** Strict order: one response per tier. */
  static HumanRanking strict(
      String rankingId, String transcriptId, String annotator, List<String> order) {
    List<RankTier> tiers = new ArrayList<>();
    for (String id : order) {
      tiers.add(new RankTier(new ArrayList<>(List.of(id))));
    }
    HumanRanking r = ranking(rankingId, transcriptId, annotator);
    r.setTiers(tiers);
    return r;
  }

  static List<String> tier(String... ids) {
    return Arrays.asList(ids);
  }
}
