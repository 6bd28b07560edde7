package dev.flywheel.pairs;

import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankTier;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.SourceOffset;
import dev.flywheel.schemas.PromptKeys;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/** Validation of a ranking and the comparison group it yields. Pure functions. */
public final class Rankings {

  /** Fewest responses a ranking may hold. */
  public static final int MIN_K = 2;

  /** Most responses a ranking may hold (InstructGPT: 4..9; 2..9 accepted). */
  public static final int MAX_K = 9;

  private Rankings() {}

  /** The outcome of a check: {@link Valid} or {@link Invalid}. */
  public sealed interface Check permits Valid, Invalid {}

  /** A well-formed ranking: its non-empty tiers, best first. */
  public record Valid(List<List<String>> tiers) implements Check {
    /** Number of ranked responses. */
    public int k() {
      return tiers.stream().mapToInt(List::size).sum();
    }

    /** Tier index (0 = best) of every ranked response. */
    public Map<String, Integer> tierOf() {
      Map<String, Integer> tierOf = new LinkedHashMap<>();
      for (int t = 0; t < tiers.size(); t++) {
        for (String id : tiers.get(t)) {
          tierOf.put(id, t);
        }
      }
      return tierOf;
    }
  }

  /** A ranking that must be dead-lettered. */
  public record Invalid(String errorType, String reason) implements Check {}

  /**
   * Checks what can be checked without the transcript, in this order: no response id twice ({@code
   * DUPLICATE_RESPONSE_ID}), K within 2..9 ({@code K_OUT_OF_RANGE}), at least two non-empty tiers
   * ({@code NO_PAIRS}). Empty tiers are ignored: they change no ordering.
   */
  public static Check checkStructure(HumanRanking ranking) {
    List<List<String>> tiers = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (RankTier tier : ranking.getTiers()) {
      if (tier.getResponseIds().isEmpty()) {
        continue;
      }
      for (String id : tier.getResponseIds()) {
        if (!seen.add(id)) {
          return new Invalid(
              ErrorTypes.DUPLICATE_RESPONSE_ID,
              "ranking " + ranking.getRankingId() + " lists response '" + id + "' more than once");
        }
      }
      tiers.add(List.copyOf(tier.getResponseIds()));
    }
    int k = seen.size();
    if (k < MIN_K || k > MAX_K) {
      return new Invalid(
          ErrorTypes.K_OUT_OF_RANGE,
          "ranking "
              + ranking.getRankingId()
              + " ranks "
              + k
              + " responses; expected "
              + MIN_K
              + ".."
              + MAX_K);
    }
    if (tiers.size() < 2) {
      return new Invalid(
          ErrorTypes.NO_PAIRS,
          "ranking "
              + ranking.getRankingId()
              + " ties all its "
              + k
              + " responses: no (chosen, rejected) pair");
    }
    return new Valid(List.copyOf(tiers));
  }

  /**
   * {@code UNKNOWN_RESPONSE_ID} when the ranking names a response the transcript lacks, else null.
   */
  public static Invalid checkAgainst(HumanRanking ranking, Valid valid, ChatTranscript transcript) {
    if (!ranking.getAppId().equals(transcript.getAppId())) {
      return new Invalid(
          ErrorTypes.CROSS_APP_REFERENCE,
          "ranking "
              + ranking.getRankingId()
              + " of app '"
              + ranking.getAppId()
              + "' names transcript "
              + transcript.getTranscriptId()
              + " of app '"
              + transcript.getAppId()
              + "'; an app may rank only its own transcripts");
    }
    Set<String> known = new HashSet<>();
    for (CandidateResponse response : transcript.getResponses()) {
      known.add(response.getResponseId());
    }
    List<String> unknown = new ArrayList<>();
    for (List<String> tier : valid.tiers()) {
      for (String id : tier) {
        if (!known.contains(id)) {
          unknown.add(id);
        }
      }
    }
    if (unknown.isEmpty()) {
      return null;
    }
    return new Invalid(
        ErrorTypes.UNKNOWN_RESPONSE_ID,
        "ranking "
            + ranking.getRankingId()
            + " names response(s) "
            + unknown
            + " that transcript "
            + transcript.getTranscriptId()
            + " does not hold");
  }

  /** {@code INVALID_TRANSCRIPT} when a transcript holds one response id twice, else null. */
  public static Invalid checkTranscript(ChatTranscript transcript) {
    Set<String> ids = new HashSet<>();
    for (CandidateResponse response : transcript.getResponses()) {
      if (!ids.add(response.getResponseId())) {
        return new Invalid(
            ErrorTypes.INVALID_TRANSCRIPT,
            "transcript "
                + transcript.getTranscriptId()
                + " holds response id '"
                + response.getResponseId()
                + "' more than once");
      }
    }
    return null;
  }

  /** Every (chosen, rejected) pair across tiers, better tier first; tied responses form no pair. */
  public static List<ComparisonPair> pairs(Valid valid) {
    List<ComparisonPair> pairs = new ArrayList<>();
    List<List<String>> tiers = valid.tiers();
    for (int better = 0; better < tiers.size(); better++) {
      for (int worse = better + 1; worse < tiers.size(); worse++) {
        for (String chosen : tiers.get(better)) {
          for (String rejected : tiers.get(worse)) {
            pairs.add(new ComparisonPair(chosen, rejected));
          }
        }
      }
    }
    return pairs;
  }

  /** Event id of the group built from a ranking: name-based, so a replay is recognisable. */
  public static String groupEventId(String rankingId) {
    return UUID.nameUUIDFromBytes(
            ("pair-assembler/comparison-group/" + rankingId).getBytes(StandardCharsets.UTF_8))
        .toString();
  }

  /** The comparison group of a valid ranking whose response ids the transcript all holds. */
  public static ComparisonGroup group(
      HumanRanking ranking,
      Valid valid,
      ChatTranscript transcript,
      SourceOffset rankingOffset,
      SourceOffset transcriptOffset,
      double evalFraction) {
    Map<String, CandidateResponse> byId = new HashMap<>();
    for (CandidateResponse response : transcript.getResponses()) {
      byId.put(response.getResponseId(), response);
    }
    List<RankedResponse> responses = new ArrayList<>(valid.k());
    TreeSet<Long> policyVersions = new TreeSet<>();
    List<List<String>> tiers = valid.tiers();
    for (int t = 0; t < tiers.size(); t++) {
      for (String id : tiers.get(t)) {
        CandidateResponse candidate = byId.get(id);
        responses.add(new RankedResponse(id, candidate.getText(), t, candidate.getPolicyVersion()));
        if (candidate.getPolicyVersion() != null) {
          policyVersions.add(candidate.getPolicyVersion());
        }
      }
    }
    List<ComparisonPair> pairs = pairs(valid);
    String promptKey = PromptKeys.promptKey(transcript.getTurns(), transcript.getPrompt());
    DataSplit split = PromptKeys.split(promptKey, evalFraction);
    return ComparisonGroup.newBuilder()
        .setEventId(groupEventId(ranking.getRankingId()))
        .setEventTime(ranking.getEventTime())
        .setGroupId(ranking.getRankingId())
        .setRankingId(ranking.getRankingId())
        .setTranscriptId(transcript.getTranscriptId())
        .setPromptKey(promptKey)
        .setTurns(new ArrayList<>(transcript.getTurns()))
        .setPrompt(transcript.getPrompt())
        .setResponses(responses)
        .setPairs(pairs)
        .setPairWeight(1.0 / pairs.size())
        .setAnnotatorIds(List.of(ranking.getAnnotatorId()))
        .setAnnotatorPool(ranking.getAnnotatorPool())
        .setSplit(split)
        .setPolicyVersions(new ArrayList<>(policyVersions))
        .setSourceOffsets(List.of(rankingOffset, transcriptOffset))
        .build();
  }
}
