package dev.flywheel.pairs;

import static dev.flywheel.pairs.Events.ids;
import static dev.flywheel.pairs.Events.ranking;
import static dev.flywheel.pairs.Events.strict;
import static dev.flywheel.pairs.Events.tier;
import static dev.flywheel.pairs.Events.transcript;
import static dev.flywheel.pairs.Harness.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.Role;
import dev.flywheel.events.SourceOffset;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.events.Turn;
import dev.flywheel.schemas.PromptKeys;
import dev.flywheel.schemas.schemaregistry.InMemorySchemaRegistryClient;
import dev.flywheel.schemas.topics.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The topology on a TopologyTestDriver, with Avro serdes on an in-memory registry (one per test):
 * no broker, no registry process. {@code HttpSchemaRegistryClientContractTest} holds the in-memory
 * registry to the real one; {@code PairAssemblerCrashRecoveryTest} runs the app on the real broker
 * and registry.
 */
class PairAssemblerTopologyTest {

  private final InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();

  @TempDir Path stateDir;
  private final List<Harness> harnesses = new ArrayList<>();

  private Harness harness() {
    return harness(c -> {});
  }

  private Harness harness(Consumer<PairAssemblerConfig> overrides) {
    Harness h = new Harness(registry, stateDir.resolve("s" + harnesses.size()), overrides);
    harnesses.add(h);
    return h;
  }

  @AfterEach
  void close() {
    harnesses.forEach(Harness::close);
  }

  private static long choose2(int k) {
    return (long) k * (k - 1) / 2;
  }

  private static String key(KeyValue<byte[], ?> kv) {
    return new String(kv.key, StandardCharsets.UTF_8);
  }

  private static byte[] bytes(ByteBuffer buffer) {
    return buffer == null ? null : Utils.toArray(buffer.duplicate());
  }

  // ------------------------------------------------------------------ pairs

  @Test
  void everyKFromTwoToNineYieldsOneGroupOfAllPairs() {
    Harness h = harness();
    for (int k = 2; k <= 9; k++) {
      ChatTranscript t = transcript("t-k" + k, "question with " + k + " answers", k);
      List<String> order = new ArrayList<>(ids(k));
      java.util.Collections.reverse(order); // rk best ... r1 worst
      long tOffset = h.transcript(t, k * 10L);
      long rOffset =
          h.ranking(strict("rank-k" + k, t.getTranscriptId(), "ann-1", order), k * 10L + 5);

      List<KeyValue<byte[], ComparisonGroup>> out = h.groups();
      assertEquals(1, out.size(), "one group for K=" + k);
      ComparisonGroup g = out.get(0).value;
      assertEquals(choose2(k), g.getPairs().size(), "C(K,2) pairs for K=" + k);
      assertEquals(1.0 / choose2(k), g.getPairWeight(), 1e-12);
      assertEquals(g.getPromptKey(), key(out.get(0)), "output key is the prompt key");
      assertEquals(PromptKeys.promptKey(t.getTurns(), t.getPrompt()), g.getPromptKey());
      assertEquals("rank-k" + k, g.getGroupId());
      assertEquals("rank-k" + k, g.getRankingId());
      assertEquals(Rankings.groupEventId("rank-k" + k), g.getEventId());
      assertEquals(t.getTranscriptId(), g.getTranscriptId());
      assertEquals(t.getPrompt(), g.getPrompt());
      assertEquals(t.getTurns(), g.getTurns());
      assertEquals(List.of("ann-1"), g.getAnnotatorIds());
      assertEquals(k, g.getResponses().size());
      for (int i = 0; i < k; i++) {
        RankedResponse r = g.getResponses().get(i);
        assertEquals(order.get(i), r.getResponseId());
        assertEquals(i, r.getTier());
        assertEquals(
            "answer " + r.getResponseId() + " to " + t.getPrompt(),
            r.getText(),
            "text resolved from transcript");
      }
      // every pair: chosen sits in a better tier than rejected; no pair twice
      Map<String, Integer> tierOf =
          g.getResponses().stream()
              .collect(Collectors.toMap(RankedResponse::getResponseId, RankedResponse::getTier));
      Set<String> distinct = new TreeSet<>();
      for (ComparisonPair p : g.getPairs()) {
        assertTrue(tierOf.get(p.getChosenResponseId()) < tierOf.get(p.getRejectedResponseId()));
        distinct.add(p.getChosenResponseId() + ">" + p.getRejectedResponseId());
      }
      assertEquals(choose2(k), distinct.size());
      // policy versions of the compared responses: r1 has none, r2.. alternate 1/2
      List<Long> expectedVersions = k == 2 ? List.of(1L) : List.of(1L, 2L);
      assertEquals(expectedVersions, g.getPolicyVersions());
      assertEquals(
          List.of(
              new SourceOffset(Topics.FEEDBACK_RANKINGS.name(), 0, rOffset),
              new SourceOffset(Topics.CHAT_TRANSCRIPTS.name(), 0, tOffset)),
          g.getSourceOffsets());
      assertEquals(PromptKeys.split(g.getPromptKey(), 0.2), g.getSplit());
    }
    assertTrue(h.deadLetters().isEmpty());
    assertEquals(8, h.meter("pair_assembler_groups_emitted"));
    assertTrue(
        h.driver.producedTopicNames().stream().noneMatch(n -> n.contains("rekeyed")),
        "rightly keyed records take the direct path");
  }

  @Test
  void tiedResponsesFormNoPair() {
    Harness h = harness();
    ChatTranscript t = transcript("t-ties", "tie me", 5);
    h.transcript(t, 0);
    h.ranking(
        ranking("rank-ties", "t-ties", "ann-1", tier("r1", "r2"), tier("r3"), tier("r4", "r5")), 1);

    ComparisonGroup g = h.groups().get(0).value;
    // 2x1 + 2x2 + 1x2 = 8 pairs, none inside a tier
    Set<String> pairs =
        g.getPairs().stream()
            .map(p -> p.getChosenResponseId() + ">" + p.getRejectedResponseId())
            .collect(Collectors.toSet());
    assertEquals(
        Set.of("r1>r3", "r2>r3", "r1>r4", "r1>r5", "r2>r4", "r2>r5", "r3>r4", "r3>r5"), pairs);
    assertEquals(1.0 / 8, g.getPairWeight(), 1e-12);
    Map<String, Integer> tierOf =
        g.getResponses().stream()
            .collect(Collectors.toMap(RankedResponse::getResponseId, RankedResponse::getTier));
    assertEquals(Map.of("r1", 0, "r2", 0, "r3", 1, "r4", 2, "r5", 2), tierOf);
  }

  @Test
  void emptyTiersAreIgnored() {
    Harness h = harness();
    h.transcript(transcript("t-empty", "p", 3), 0);
    h.ranking(
        ranking("rank-empty", "t-empty", "ann", tier(), tier("r2"), tier(), tier("r1", "r3")), 1);
    ComparisonGroup g = h.groups().get(0).value;
    assertEquals(2, g.getPairs().size());
    assertEquals(0, g.getResponses().get(0).getTier());
    assertEquals(1, g.getResponses().get(1).getTier());
  }

  // ------------------------------------------------------------------ arrival order

  @Test
  void rankingBeforeItsTranscriptIsHeldAndJoinedWithinTheGracePeriod() {
    Harness h = harness(); // grace 10 s
    long rOffset =
        h.ranking(strict("rank-early", "t-late", "ann-1", List.of("r2", "r1", "r3")), 1_000);
    assertTrue(h.groups().isEmpty());
    h.transcript(transcript("t-other", "unrelated", 2), 6_000); // stream time moves, sweeps run
    h.transcript(transcript("t-late", "late transcript", 3), 10_900); // 9.9 s after the ranking
    List<KeyValue<byte[], ComparisonGroup>> out = h.groups();
    assertEquals(1, out.size());
    ComparisonGroup g = out.get(0).value;
    assertEquals("rank-early", g.getRankingId());
    assertEquals(3, g.getPairs().size());
    assertEquals(
        List.of(
            new SourceOffset(Topics.FEEDBACK_RANKINGS.name(), 0, rOffset),
            new SourceOffset(Topics.CHAT_TRANSCRIPTS.name(), 0, 1L)),
        g.getSourceOffsets());
    h.transcript(
        transcript("t-more", "later", 2), 30_000); // well past the deadline: nothing left to orphan
    assertTrue(h.deadLetters().isEmpty());
  }

  @Test
  void rankingsOfOneTranscriptWaitTogetherAndAreReleasedInArrivalOrder() {
    Harness h = harness();
    h.ranking(strict("rank-b", "t-wait", "ann-2", List.of("r1", "r2")), 100);
    h.ranking(strict("rank-a", "t-wait", "ann-1", List.of("r2", "r1")), 200);
    h.transcript(transcript("t-wait", "p", 2), 300);
    List<String> released = h.groups().stream().map(kv -> kv.value.getRankingId()).toList();
    assertEquals(List.of("rank-b", "rank-a"), released);
  }

  @Test
  void rankingWhoseTranscriptMissesTheGracePeriodIsDeadLetteredAsOrphan() {
    Harness h = harness(); // grace 10 s
    HumanRanking r = strict("rank-orphan", "t-never", "ann-1", List.of("r1", "r2"));
    byte[] raw = h.bytes(r);
    long rOffset = h.rawRanking(utf8("t-never"), raw, 1_000);
    h.transcript(transcript("t-x", "x", 2), 10_999); // deadline is 11 000: not yet
    assertTrue(h.deadLetters().isEmpty());
    h.transcript(transcript("t-y", "y", 2), 12_000);

    List<KeyValue<byte[], DeadLetter>> dead = h.deadLetters();
    assertEquals(1, dead.size());
    DeadLetter d = dead.get(0).value;
    assertEquals(ErrorTypes.ORPHAN_RANKING, d.getErrorType());
    assertTrue(d.getReason().contains("t-never"), d.getReason());
    assertEquals(PairAssemblerTopology.SERVICE, d.getService());
    assertEquals(Topics.FEEDBACK_RANKINGS.name(), d.getSourceTopic());
    assertEquals(0, d.getSourcePartition());
    assertEquals(rOffset, d.getSourceOffset());
    assertArrayEquals(raw, bytes(d.getRawValue()));
    assertArrayEquals(utf8("t-never"), bytes(d.getRawKey()));
    assertArrayEquals(utf8("t-never"), dead.get(0).key, "dead letter keyed by the original key");
    assertTrue(d.getSchemaId() != null);

    // the transcript finally arrives: the ranking is gone, nothing is emitted
    h.transcript(transcript("t-never", "too late", 2), 13_000);
    assertTrue(h.groups().isEmpty());
    assertEquals(1, h.meter("pair_assembler_orphan_rankings"));
  }

  // ------------------------------------------------------------------ dedup

  @Test
  void theSameRankingTwiceYieldsOneGroup() {
    Harness h = harness();
    HumanRanking r = strict("rank-dup", "t-dup", "ann-1", List.of("r1", "r2", "r3"));
    h.ranking(r, 0);
    h.ranking(r, 1); // retried while its transcript is still awaited
    h.transcript(transcript("t-dup", "p", 3), 2);
    h.ranking(r, 3); // replayed after the join
    h.ranking(r, 4);
    assertEquals(1, h.groups().size());
    assertTrue(h.deadLetters().isEmpty());
    assertEquals(3, h.meter("pair_assembler_duplicate_rankings"));
  }

  @Test
  void dedupMemoryIsBoundedByItsRetention() {
    Harness h = harness(c -> c.setDedupRetention(Duration.ofSeconds(60)));
    HumanRanking r = strict("rank-old", "t-old", "ann-1", List.of("r1", "r2"));
    h.transcript(transcript("t-old", "p", 2), 0);
    h.ranking(r, 0);
    h.ranking(r, 59_000);
    assertEquals(1, h.groups().size());
    h.transcript(transcript("t-tick", "q", 2), 61_000); // sweep forgets rank-old
    h.ranking(r, 62_000);
    assertEquals(1, h.groups().size(), "past its retention a ranking id is new again");
  }

  @Test
  void theSameTranscriptTwiceKeepsTheFirst() {
    Harness h = harness();
    h.transcript(transcript("t-twice", "first prompt", 2), 0);
    h.transcript(transcript("t-twice", "second prompt", 2), 1);
    h.ranking(strict("rank-t2", "t-twice", "ann", List.of("r1", "r2")), 2);
    assertEquals("first prompt", h.groups().get(0).value.getPrompt());
  }

  @Test
  void anAppCannotRankAnotherAppsTranscript() {
    Harness h = harness();
    h.transcript(transcript("t-shop", "p", 2), 0); // app test-app
    HumanRanking foreign = strict("rank-foreign", "t-shop", "ann", List.of("r1", "r2"));
    foreign.setAppId("other-app");
    h.ranking(foreign, 1);
    assertTrue(h.groups().isEmpty(), "no comparison from another app's ranking");
    List<KeyValue<byte[], DeadLetter>> dead = h.deadLetters();
    assertEquals(1, dead.size());
    assertEquals(ErrorTypes.CROSS_APP_REFERENCE, dead.get(0).value.getErrorType());
    assertTrue(dead.get(0).value.getReason().contains("other-app"), dead.get(0).value.getReason());
    // the owner's own ranking still joins
    h.ranking(strict("rank-own", "t-shop", "ann", List.of("r2", "r1")), 2);
    assertEquals(1, h.groups().size());
  }

  @Test
  void anAppCannotTakeOverAnotherAppsTranscriptId() {
    Harness h = harness();
    h.transcript(transcript("t-first", "owner's prompt", 2), 0);
    ChatTranscript squatter = transcript("t-first", "squatter's prompt", 2);
    squatter.setAppId("other-app");
    h.transcript(squatter, 1);
    List<KeyValue<byte[], DeadLetter>> dead = h.deadLetters();
    assertEquals(1, dead.size());
    assertEquals(ErrorTypes.TRANSCRIPT_ID_TAKEN, dead.get(0).value.getErrorType());
    // and the other direction: the squatter's ranking of "its" transcript is refused, the owner's
    // joins
    HumanRanking squatterRanking = strict("rank-squat", "t-first", "ann", List.of("r1", "r2"));
    squatterRanking.setAppId("other-app");
    h.ranking(squatterRanking, 2);
    h.ranking(strict("rank-owner", "t-first", "ann", List.of("r1", "r2")), 3);
    List<KeyValue<byte[], ComparisonGroup>> groups = h.groups();
    assertEquals(1, groups.size());
    assertEquals("owner's prompt", groups.get(0).value.getPrompt());
    assertEquals(ErrorTypes.CROSS_APP_REFERENCE, h.deadLetters().get(0).value.getErrorType());
  }

  // ------------------------------------------------------------------ invalid input

  private void assertDeadLetter(
      Harness h, String errorType, String reasonPart, long offset, byte[] key, byte[] raw) {
    List<KeyValue<byte[], DeadLetter>> dead = h.deadLetters();
    assertEquals(1, dead.size(), "one dead letter for " + errorType);
    DeadLetter d = dead.get(0).value;
    assertEquals(errorType, d.getErrorType());
    assertTrue(d.getReason().contains(reasonPart), d.getReason());
    assertEquals(PairAssemblerTopology.SERVICE, d.getService());
    assertEquals(Topics.FEEDBACK_RANKINGS.name(), d.getSourceTopic());
    assertEquals(0, d.getSourcePartition());
    assertEquals(offset, d.getSourceOffset());
    assertArrayEquals(raw, bytes(d.getRawValue()), "raw bytes kept");
    assertArrayEquals(key, bytes(d.getRawKey()));
    assertArrayEquals(key, dead.get(0).key);
  }

  private void assertInvalidRanking(HumanRanking r, String errorType, String reasonPart) {
    Harness h = harness();
    h.transcript(transcript(r.getTranscriptId(), "p", 9), 0);
    byte[] raw = h.bytes(r);
    h.rawRanking(
        utf8(r.getTranscriptId()),
        h.bytes(strict("ok-before", r.getTranscriptId(), "a", List.of("r1", "r2"))),
        1);
    long offset = h.rawRanking(utf8(r.getTranscriptId()), raw, 2);
    assertEquals(1, h.groups().size(), "only the valid ranking yields a group");
    assertDeadLetter(h, errorType, reasonPart, offset, utf8(r.getTranscriptId()), raw);
  }

  @Test
  void unknownResponseIdIsDeadLettered() {
    assertInvalidRanking(
        strict("bad-unknown", "t-inv", "a", List.of("r1", "r42")),
        ErrorTypes.UNKNOWN_RESPONSE_ID,
        "r42");
  }

  @Test
  void unknownResponseIdIsDeadLetteredAlsoWhenTheRankingWaited() {
    Harness h = harness();
    HumanRanking r = strict("bad-unknown-late", "t-inv2", "a", List.of("r1", "r42"));
    byte[] raw = h.bytes(r);
    long offset = h.rawRanking(utf8("t-inv2"), raw, 0);
    h.transcript(transcript("t-inv2", "p", 3), 1);
    assertTrue(h.groups().isEmpty());
    assertDeadLetter(h, ErrorTypes.UNKNOWN_RESPONSE_ID, "r42", offset, utf8("t-inv2"), raw);
  }

  @Test
  void duplicateResponseIdIsDeadLettered() {
    assertInvalidRanking(
        ranking("bad-dup", "t-inv", "a", tier("r1"), tier("r2", "r1")),
        ErrorTypes.DUPLICATE_RESPONSE_ID,
        "r1");
  }

  @Test
  void allTiedIsDeadLetteredAsNoPairs() {
    assertInvalidRanking(
        ranking("bad-tied", "t-inv", "a", tier("r1", "r2", "r3")), ErrorTypes.NO_PAIRS, "ties all");
  }

  @Test
  void oneResponseIsDeadLetteredAsKOutOfRange() {
    assertInvalidRanking(
        ranking("bad-k1", "t-inv", "a", tier("r1")),
        ErrorTypes.K_OUT_OF_RANGE,
        "ranks 1 responses");
  }

  @Test
  void noResponsesIsDeadLetteredAsKOutOfRange() {
    assertInvalidRanking(
        ranking("bad-k0", "t-inv", "a"), ErrorTypes.K_OUT_OF_RANGE, "ranks 0 responses");
  }

  @Test
  void tenResponsesIsDeadLetteredAsKOutOfRange() {
    List<String> ten = new ArrayList<>(ids(9));
    ten.add("r10");
    assertInvalidRanking(
        strict("bad-k10", "t-inv", "a", ten), ErrorTypes.K_OUT_OF_RANGE, "ranks 10 responses");
  }

  @Test
  void transcriptWithDuplicateResponseIdsIsDeadLettered() {
    Harness h = harness();
    ChatTranscript t =
        transcript(
            "t-bad",
            List.of(new Turn(Role.USER, "p")),
            "p",
            List.of(
                CandidateResponse.newBuilder().setResponseId("x").setText("1").build(),
                CandidateResponse.newBuilder().setResponseId("x").setText("2").build()));
    byte[] raw = h.bytes(t);
    long offset = h.rawTranscript(utf8("t-bad"), raw, 0);
    List<KeyValue<byte[], DeadLetter>> dead = h.deadLetters();
    assertEquals(ErrorTypes.INVALID_TRANSCRIPT, dead.get(0).value.getErrorType());
    assertEquals(Topics.CHAT_TRANSCRIPTS.name(), dead.get(0).value.getSourceTopic());
    assertEquals(offset, dead.get(0).value.getSourceOffset());
    assertArrayEquals(raw, bytes(dead.get(0).value.getRawValue()));
  }

  @Test
  void undeserialisableRecordsAreDeadLetteredAndProcessingGoesOn() {
    Harness h = harness();
    byte[] valid = h.bytes(strict("rank-v", "t-v", "a", List.of("r1", "r2")));
    byte[] unknownSchema = valid.clone();
    unknownSchema[1] = 0x7f; // schema id 0x7fxxxxxx: not in the registry
    byte[] malformed = Arrays.copyOf(valid, 9); // header fine, body cut short
    byte[] wrongMagic = "{\"json\": true}".getBytes(StandardCharsets.UTF_8);
    byte[] truncated = {0, 0, 1};
    Object[][] cases = {
      {wrongMagic, "UNKNOWN_MAGIC_BYTE"},
      {truncated, "TRUNCATED_HEADER"},
      {unknownSchema, "UNKNOWN_SCHEMA_ID"},
      {malformed, "MALFORMED_PAYLOAD"},
      {null, ErrorTypes.NULL_VALUE},
    };
    for (Object[] c : cases) {
      byte[] raw = (byte[]) c[0];
      long offset = h.rawRanking(utf8("t-v"), raw, 0);
      List<KeyValue<byte[], DeadLetter>> dead = h.deadLetters();
      assertEquals(1, dead.size(), c[1].toString());
      DeadLetter d = dead.get(0).value;
      assertEquals(c[1], d.getErrorType());
      assertEquals(Topics.FEEDBACK_RANKINGS.name(), d.getSourceTopic());
      assertEquals(offset, d.getSourceOffset());
      assertArrayEquals(raw, bytes(d.getRawValue()));
      assertArrayEquals(utf8("t-v"), bytes(d.getRawKey()));
    }
    // an undecodable transcript too, with a key that is not even UTF-8
    byte[] oddKey = {(byte) 0xff, (byte) 0xfe};
    long tOffset = h.rawTranscript(oddKey, wrongMagic, 0);
    DeadLetter d = h.deadLetters().get(0).value;
    assertEquals(Topics.CHAT_TRANSCRIPTS.name(), d.getSourceTopic());
    assertEquals(tOffset, d.getSourceOffset());
    assertArrayEquals(oddKey, bytes(d.getRawKey()));
    // and the stream goes on
    h.transcript(transcript("t-v", "p", 2), 1);
    h.rawRanking(utf8("t-v"), valid, 2);
    assertEquals(1, h.groups().size());
  }

  // ------------------------------------------------------------------ keys

  @Test
  void wronglyKeyedRecordsAreReKeyedAndStillJoin() {
    Harness h = harness();
    long tOffset = h.rawTranscript(utf8("not-the-id"), h.bytes(transcript("t-rekey", "p", 2)), 0);
    long rOffset =
        h.rawRanking(null, h.bytes(strict("rank-rekey", "t-rekey", "a", List.of("r1", "r2"))), 1);
    List<KeyValue<byte[], ComparisonGroup>> out = h.groups();
    assertEquals(1, out.size());
    assertEquals(
        List.of(
            new SourceOffset(Topics.FEEDBACK_RANKINGS.name(), 0, rOffset),
            new SourceOffset(Topics.CHAT_TRANSCRIPTS.name(), 0, tOffset)),
        out.get(0).value.getSourceOffsets(),
        "offsets of the original records, not of the re-keying topic");
    assertTrue(
        h.driver.producedTopicNames().stream()
            .anyMatch(n -> n.endsWith("rankings-rekeyed-repartition")),
        "the ranking went through the re-keying topic: " + h.driver.producedTopicNames());
    assertTrue(
        h.driver.producedTopicNames().stream()
            .anyMatch(n -> n.endsWith("transcripts-rekeyed-repartition")));
    // a bad ranking behind the re-keying topic still carries its original coordinates and bytes
    byte[] bad = h.bytes(strict("rank-rekey-bad", "t-rekey", "a", List.of("r1", "r9")));
    long badOffset = h.rawRanking(utf8("wrong"), bad, 2);
    assertDeadLetter(h, ErrorTypes.UNKNOWN_RESPONSE_ID, "r9", badOffset, utf8("wrong"), bad);
  }

  @Test
  void recordsOnTheWrongPartitionForTheirKeyAreReKeyed() {
    // with 6 input partitions, a record read from partition 0 whose id hashes elsewhere is
    // misplaced
    Harness h = harness(c -> c.setInputPartitions(6));
    String misplaced = null;
    for (int i = 0; misplaced == null; i++) {
      String id = "t-part-" + i;
      if (Utils.toPositive(Utils.murmur2(utf8(id))) % 6 != 0) {
        misplaced = id;
      }
    }
    h.transcript(transcript(misplaced, "p", 2), 0);
    h.ranking(strict("rank-part", misplaced, "a", List.of("r2", "r1")), 1);
    assertEquals(1, h.groups().size());
    assertTrue(
        h.driver.producedTopicNames().stream()
            .anyMatch(n -> n.endsWith("rankings-rekeyed-repartition")));
  }

  // ------------------------------------------------------------------ split

  @Test
  void splitAndKeyDependOnThePromptOnlyWhoeverRankedIt() {
    Harness h = harness(c -> c.setEvalFraction(0.5));
    List<Turn> turns =
        List.of(new Turn(Role.SYSTEM, "Be brief."), new Turn(Role.USER, "What is 2 + 2?"));
    List<Turn> sameButSpaced =
        List.of(new Turn(Role.SYSTEM, "  be   BRIEF. "), new Turn(Role.USER, "what is 2 +\n2?"));
    List<CandidateResponse> responses =
        List.of(
            CandidateResponse.newBuilder().setResponseId("r1").setText("4").build(),
            CandidateResponse.newBuilder().setResponseId("r2").setText("5").build(),
            CandidateResponse.newBuilder().setResponseId("r3").setText("four").build());
    h.transcript(transcript("t-s1", turns, "What is 2 + 2?", responses), 0);
    h.transcript(transcript("t-s2", sameButSpaced, "what is 2 + 2?", responses), 0);
    h.ranking(strict("s-1", "t-s1", "ann-1", List.of("r1", "r3", "r2")), 1);
    h.ranking(strict("s-2", "t-s1", "ann-2", List.of("r3", "r1", "r2")), 1);
    h.ranking(ranking("s-3", "t-s2", "ann-3", tier("r1", "r3"), tier("r2")), 1);
    h.ranking(strict("s-4", "t-s2", "ann-1", List.of("r2", "r1")), 1);
    List<KeyValue<byte[], ComparisonGroup>> out = h.groups();
    assertEquals(4, out.size());
    Set<String> keys = out.stream().map(kv -> kv.value.getPromptKey()).collect(Collectors.toSet());
    Set<DataSplit> splits = out.stream().map(kv -> kv.value.getSplit()).collect(Collectors.toSet());
    assertEquals(1, keys.size(), "one prompt key across transcripts, annotators and rankings");
    assertEquals(1, splits.size(), "one split");
    out.forEach(kv -> assertEquals(kv.value.getPromptKey(), key(kv)));
    assertEquals(PromptKeys.split(keys.iterator().next(), 0.5), splits.iterator().next());
  }

  @Test
  void evalFractionIsTakenFromConfiguration() {
    for (String fraction : List.of("0.0", "1.0")) {
      Harness h = harness(c -> c.setEvalFraction(Double.parseDouble(fraction)));
      for (int i = 0; i < 20; i++) {
        h.transcript(transcript("t-f" + i, "prompt " + i, 2), i);
        h.ranking(strict("f-" + fraction + "-" + i, "t-f" + i, "a", List.of("r1", "r2")), i);
      }
      DataSplit expected = fraction.equals("0.0") ? DataSplit.TRAIN : DataSplit.EVAL;
      assertTrue(h.groups().stream().allMatch(kv -> kv.value.getSplit() == expected), fraction);
    }
  }

  // ------------------------------------------------------------------ metrics

  @Test
  void agreementMetricsMatchAHandComputedCase() {
    Harness h = harness();
    h.transcript(transcript("t-agree", "rank these", 4), 0);
    // responses a..d are r1..r4
    h.ranking(strict("ag-A", "t-agree", "A", List.of("r1", "r2", "r3", "r4")), 1); // a>b>c>d
    h.ranking(
        ranking("ag-B", "t-agree", "B", tier("r2"), tier("r1"), tier("r3", "r4")), 2); // b>a>{c,d}
    h.ranking(
        ranking("ag-C", "t-agree", "C", tier("r1", "r2"), tier("r3"), tier("r4")), 3); // {a,b}>c>d
    h.ranking(ranking("ag-D", "t-agree", "D", tier("r1"), tier("r3", "r4")), 4); // a>{c,d}
    // another prompt with a single annotator: adds no agreement
    h.transcript(transcript("t-solo", "alone", 2), 5);
    h.ranking(strict("ag-solo", "t-solo", "A", List.of("r1", "r2")), 6);
    assertEquals(5, h.groups().size());

    h.publishMetrics();
    List<TrainingMetrics> published = h.metrics();
    TrainingMetrics agreement = last(published, "agreement");
    TrainingMetrics pairs = last(published, "pairs");
    // by hand, over pairs ab ac ad bc bd cd:
    //  B vs A: ab disagree; ac ad bc bd agree; cd tie/strict            -> 4 agree, 1 disagree, 1
    // mismatch
    //  C vs A: ab tie/strict; ac ad bc bd cd agree                      -> 5 agree, 1 mismatch
    //  C vs B: ab tie/strict; ac ad bc bd agree; cd strict/tie          -> 4 agree, 2 mismatch
    //  D vs A (a,c,d): ac ad agree; cd tie/strict                       -> 2 agree, 1 mismatch
    //  D vs B: ac ad agree; cd both tied                                -> 2 agree, 1 both tied
    //  D vs C: ac ad agree; cd tie/strict                               -> 2 agree, 1 mismatch
    Map<String, Double> v = agreement.getValues();
    assertEquals(19.0, v.get("strict_agreements"));
    assertEquals(1.0, v.get("strict_disagreements"));
    assertEquals(1.0, v.get("tie_agreements"));
    assertEquals(6.0, v.get("tie_mismatches"));
    assertEquals(27.0, v.get("pairs_compared"));
    assertEquals(20.0, v.get("strict_pairs_compared"));
    assertEquals(19.0 / 20, v.get("agreement_rate"), 1e-12);
    assertEquals(20.0 / 27, v.get("agreement_rate_with_ties"), 1e-12);
    assertEquals(6.0, v.get("ranking_pairs_compared"));
    assertEquals(1.0, v.get("prompts_with_multiple_annotators"));
    assertEquals(PairAssemblerTopology.SERVICE, agreement.getSource());

    Map<String, Double> p = pairs.getValues();
    assertEquals(5.0, p.get("groups_emitted"));
    assertEquals(6.0 + 5 + 5 + 2 + 1, p.get("pairs_emitted"));
    assertEquals(0.0, p.get("dead_letters"));

    // nothing changed: nothing new is published
    h.publishMetrics();
    assertTrue(h.metrics().isEmpty());
  }

  @Test
  void throughputMetricsCountOutcomes() {
    Harness h = harness();
    h.transcript(transcript("t-m", "p", 3), 0);
    HumanRanking r = strict("m-1", "t-m", "a", List.of("r1", "r2", "r3"));
    h.ranking(r, 1);
    h.ranking(r, 2); // duplicate
    h.ranking(strict("m-bad", "t-m", "a", List.of("r1", "r7")), 3); // dead letter
    h.ranking(strict("m-orphan", "t-none", "a", List.of("r1", "r2")), 4);
    h.transcript(transcript("t-tick", "q", 2), 20_000); // orphans m-orphan
    h.publishMetrics();
    Map<String, Double> p = last(h.metrics(), "pairs").getValues();
    assertEquals(1.0, p.get("groups_emitted"));
    assertEquals(3.0, p.get("pairs_emitted"));
    assertEquals(1.0, p.get("duplicate_rankings"));
    assertEquals(1.0, p.get("orphan_rankings"));
    assertEquals(2.0, p.get("dead_letters"));
    assertEquals(1.0, p.get("train_groups") + p.getOrDefault("eval_groups", 0.0));
  }

  private static TrainingMetrics last(List<TrainingMetrics> metrics, String phase) {
    TrainingMetrics found = null;
    for (TrainingMetrics m : metrics) {
      if (m.getPhase().equals(phase)) {
        found = m;
      }
    }
    assertTrue(found != null, "a " + phase + " record in " + metrics);
    return found;
  }

  @Test
  void nothingIsPublishedBeforeAnythingHappened() {
    Harness h = harness();
    h.publishMetrics();
    assertTrue(h.metrics().isEmpty());
  }
}
