package dev.flywheel.pairs;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.schemas.DeadLetters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The join. Keyed by transcriptId; its state ({@link AssemblerState}, one store) is local to the
 * task (transcripts and rankings are co-partitioned), and every state change, output and input
 * offset commits in one transaction.
 *
 * <ul>
 *   <li>A transcript is kept for {@code transcript-retention}; its arrival releases the rankings
 *       waiting for it.
 *   <li>A ranking whose id was already turned into a group is a duplicate and dropped. One that
 *       fails a structural check is dead-lettered at once. One whose transcript is held is joined;
 *       otherwise it waits in the pending store until its transcript comes or stream time passes
 *       its record timestamp + {@code grace-period}, when it is dead-lettered as {@code
 *       ORPHAN_RANKING}.
 *   <li>Expiry (orphans, dedup retention, transcript retention) is one time-ordered index swept by
 *       a stream-time punctuator.
 *   <li>Each ranking is compared with the earlier rankings of the same transcript by other
 *       annotators; the counts accumulate in a per-task counter store, sent to the metrics
 *       publisher periodically.
 * </ul>
 */
final class AssemblerProcessor implements Processor<String, Inbound, byte[], Outbound> {

  /** At most this many earlier rankings per transcript are kept for agreement. */
  static final int MAX_JUDGEMENTS = 32;

  /** At most this many expired entries per sweep, to bound one punctuation's transaction. */
  static final int MAX_SWEEP = 100_000;

  private static final Logger LOG = LoggerFactory.getLogger(AssemblerProcessor.class);

  private final PairAssemblerConfig config;
  private final Deserializer<ChatTranscript> transcriptReader;
  private final Deserializer<HumanRanking> rankingReader;
  private final PairAssemblerMetrics metrics;
  private final long graceMs;
  private final long dedupMs;
  private final long retentionMs;
  private final double evalFraction;

  private ProcessorContext<byte[], Outbound> context;
  private AssemblerState state;
  private Counters counters;
  private Counters lastSent;

  AssemblerProcessor(
      PairAssemblerConfig config,
      Deserializer<ChatTranscript> transcriptReader,
      Deserializer<HumanRanking> rankingReader,
      PairAssemblerMetrics metrics) {
    this.config = config;
    this.transcriptReader = transcriptReader;
    this.rankingReader = rankingReader;
    this.metrics = metrics;
    this.graceMs = config.getGracePeriod().toMillis();
    this.dedupMs = config.getDedupRetention().toMillis();
    this.retentionMs = config.getTranscriptRetention().toMillis();
    this.evalFraction = config.getEvalFraction();
  }

  @Override
  public void init(ProcessorContext<byte[], Outbound> context) {
    this.context = context;
    KeyValueStore<Bytes, byte[]> store = context.getStateStore(AssemblerState.STORE);
    state = new AssemblerState(store);
    counters = state.counters();
    context.schedule(config.getSweepInterval(), PunctuationType.STREAM_TIME, this::sweep);
    context.schedule(
        config.getMetricsInterval(), PunctuationType.WALL_CLOCK_TIME, now -> sendTotals());
  }

  @Override
  public void process(Record<String, Inbound> record) {
    Inbound value = record.value();
    if (value instanceof Inbound.Ranking r) {
      onRanking(r.value(), r.source(), record.timestamp());
    } else if (value instanceof Inbound.Transcript t) {
      onTranscript(t.value(), t.source(), record.timestamp());
    } else if (value instanceof Inbound.Dead d) {
      deadLetter(d.letter(), record.timestamp());
    } else {
      throw new IllegalStateException("unexpected input at the assembler: " + value);
    }
  }

  // ---------------------------------------------------------------- transcripts

  private void onTranscript(ChatTranscript transcript, SourceRef source, long timestamp) {
    Rankings.Invalid invalid = Rankings.checkTranscript(transcript);
    if (invalid != null) {
      deadLetter(source, invalid.errorType(), invalid.reason(), timestamp);
      return;
    }
    String transcriptId = transcript.getTranscriptId();
    SourceRef first = state.transcript(transcriptId);
    if (first != null) {
      String owner = transcriptReader.deserialize(first.topic(), first.rawValue()).getAppId();
      if (!owner.equals(transcript.getAppId())) {
        // another app's id: refused with its reason, so that no app can take over another's
        // transcript
        deadLetter(
            source,
            ErrorTypes.TRANSCRIPT_ID_TAKEN,
            "transcript id "
                + transcriptId
                + " of app '"
                + transcript.getAppId()
                + "' is already held by app '"
                + owner
                + "'",
            timestamp);
        return;
      }
      LOG.debug("transcript {} seen before; keeping the first", transcriptId);
      return;
    }
    state.putTranscript(transcriptId, source);
    state.expireAt(plus(source.timestamp(), retentionMs), AssemblerState.TRANSCRIPT, transcriptId);

    List<KeyValue<String, SourceRef>> waiting = state.pendingFor(transcriptId);
    waiting.sort(
        Comparator.comparingLong((KeyValue<String, SourceRef> kv) -> kv.value.timestamp())
            .thenComparingLong(kv -> kv.value.offset()));
    for (KeyValue<String, SourceRef> kv : waiting) {
      state.deletePending(kv.key);
      SourceRef rankingSource = kv.value;
      HumanRanking ranking =
          rankingReader.deserialize(rankingSource.topic(), rankingSource.rawValue());
      Rankings.Check check = Rankings.checkStructure(ranking);
      if (state.seen(ranking.getRankingId()) || !(check instanceof Rankings.Valid valid)) {
        continue; // cannot happen: both were checked before it was held
      }
      join(
          ranking,
          valid,
          rankingSource,
          transcript,
          source,
          Math.max(timestamp, rankingSource.timestamp()));
    }
  }

  // ---------------------------------------------------------------- rankings

  private void onRanking(HumanRanking ranking, SourceRef source, long timestamp) {
    String rankingId = ranking.getRankingId();
    if (state.seen(rankingId)) {
      duplicate(ranking, source);
      return;
    }
    Rankings.Check check = Rankings.checkStructure(ranking);
    if (check instanceof Rankings.Invalid invalid) {
      deadLetter(source, invalid.errorType(), invalid.reason(), timestamp);
      return;
    }
    Rankings.Valid valid = (Rankings.Valid) check;
    String transcriptId = ranking.getTranscriptId();
    SourceRef transcriptSource = state.transcript(transcriptId);
    if (transcriptSource != null) {
      ChatTranscript transcript =
          transcriptReader.deserialize(transcriptSource.topic(), transcriptSource.rawValue());
      join(ranking, valid, source, transcript, transcriptSource, timestamp);
      return;
    }
    String pendingId = AssemblerState.pendingId(transcriptId, rankingId);
    if (state.pending(pendingId) != null) {
      duplicate(ranking, source);
      return;
    }
    state.putPending(pendingId, source);
    state.expireAt(plus(source.timestamp(), graceMs), AssemblerState.PENDING, pendingId);
  }

  private void duplicate(HumanRanking ranking, SourceRef source) {
    LOG.debug("ranking {} at {} already processed; dropped", ranking.getRankingId(), source);
    counters.add(Counters.DUPLICATES, 1);
    saveCounters();
    metrics.duplicate();
  }

  private void join(
      HumanRanking ranking,
      Rankings.Valid valid,
      SourceRef rankingSource,
      ChatTranscript transcript,
      SourceRef transcriptSource,
      long timestamp) {
    Rankings.Invalid unknown = Rankings.checkAgainst(ranking, valid, transcript);
    if (unknown != null) {
      deadLetter(rankingSource, unknown.errorType(), unknown.reason(), timestamp);
      return;
    }
    ComparisonGroup group =
        Rankings.group(
            ranking,
            valid,
            transcript,
            rankingSource.toSourceOffset(),
            transcriptSource.toSourceOffset(),
            evalFraction);
    context.forward(
        new Record<byte[], Outbound>(
            group.getPromptKey().getBytes(StandardCharsets.UTF_8),
            new Outbound.Group(group),
            timestamp));

    String rankingId = ranking.getRankingId();
    state.markSeen(rankingId, rankingSource.timestamp());
    state.expireAt(plus(rankingSource.timestamp(), dedupMs), AssemblerState.SEEN, rankingId);

    counters.add(Counters.GROUPS, 1);
    counters.add(Counters.PAIRS, group.getPairs().size());
    counters.add(
        group.getSplit() == DataSplit.EVAL ? Counters.EVAL_GROUPS : Counters.TRAIN_GROUPS, 1);
    recordAgreement(ranking, valid);
    saveCounters();
    metrics.group(group.getPairs().size());
  }

  private void recordAgreement(HumanRanking ranking, Rankings.Valid valid) {
    String transcriptId = ranking.getTranscriptId();
    List<Agreement.Judgement> list = state.judgements(transcriptId);
    Agreement.Judgement fresh =
        new Agreement.Judgement(ranking.getRankingId(), ranking.getAnnotatorId(), valid.tierOf());
    Agreement.Tally tally = Agreement.compareWithEarlier(fresh, list);
    Set<String> annotators = new HashSet<>();
    long others = 0;
    for (Agreement.Judgement j : list) {
      annotators.add(j.annotatorId());
      if (!j.annotatorId().equals(fresh.annotatorId())) {
        others++;
      }
    }
    if (annotators.size() == 1 && !annotators.contains(fresh.annotatorId())) {
      counters.add(Counters.MULTI_ANNOTATOR_PROMPTS, 1);
    }
    counters.add(Counters.STRICT_AGREE, tally.strictAgree());
    counters.add(Counters.STRICT_DISAGREE, tally.strictDisagree());
    counters.add(Counters.BOTH_TIED, tally.bothTied());
    counters.add(Counters.TIE_MISMATCH, tally.tieMismatch());
    counters.add(Counters.RANKING_PAIRS, others);
    if (list.size() < MAX_JUDGEMENTS) {
      list.add(fresh);
      state.putJudgements(transcriptId, list);
    }
  }

  // ---------------------------------------------------------------- expiry

  private void sweep(long streamTime) {
    for (AssemblerState.Expired due : state.dueBy(streamTime, MAX_SWEEP)) {
      state.deleteIndexEntry(due.indexKey());
      switch (due.kind()) {
        case AssemblerState.TRANSCRIPT -> state.deleteTranscript(due.id());
        case AssemblerState.SEEN -> state.forgetSeen(due.id());
        case AssemblerState.PENDING -> orphan(due.id(), streamTime);
        default -> LOG.warn("unknown expiry entry kind {}", due.kind());
      }
    }
  }

  private void orphan(String pendingId, long streamTime) {
    SourceRef source = state.pending(pendingId);
    if (source == null) {
      return; // joined in time
    }
    state.deletePending(pendingId);
    String transcriptId = AssemblerState.transcriptOfPending(pendingId);
    counters.add(Counters.ORPHANS, 1);
    metrics.orphan();
    deadLetter(
        source,
        ErrorTypes.ORPHAN_RANKING,
        "no transcript '"
            + transcriptId
            + "' arrived within the grace period of "
            + Duration.ofMillis(graceMs)
            + " (stream time) after the ranking",
        streamTime);
  }

  // ---------------------------------------------------------------- outputs

  private void deadLetter(SourceRef source, String errorType, String reason, long timestamp) {
    deadLetter(
        DeadLetters.of(
            PairAssemblerTopology.SERVICE,
            errorType,
            reason,
            source.topic(),
            source.partition(),
            source.offset(),
            source.rawKey(),
            source.rawValue()),
        timestamp);
  }

  private void deadLetter(DeadLetter letter, long timestamp) {
    LOG.info(
        "dead letter {} for {}-{}@{}: {}",
        letter.getErrorType(),
        letter.getSourceTopic(),
        letter.getSourcePartition(),
        letter.getSourceOffset(),
        letter.getReason());
    counters.add(Counters.DEAD_LETTERS, 1);
    saveCounters();
    metrics.deadLetter(letter.getErrorType());
    byte[] key = letter.getRawKey() == null ? null : bytes(letter.getRawKey());
    context.forward(new Record<byte[], Outbound>(key, new Outbound.Dead(letter), timestamp));
  }

  private void saveCounters() {
    state.putCounters(counters);
  }

  private void sendTotals() {
    if (counters.equals(lastSent)) {
      return;
    }
    lastSent = counters.copy();
    context.forward(
        new Record<byte[], Outbound>(
            context.taskId().toString().getBytes(StandardCharsets.UTF_8),
            new Outbound.TaskTotals(lastSent),
            context.currentSystemTimeMs()));
  }

  private static byte[] bytes(ByteBuffer buffer) {
    ByteBuffer dup = buffer.duplicate();
    byte[] out = new byte[dup.remaining()];
    dup.get(out);
    return out;
  }

  private static long plus(long time, long delta) {
    long sum = time + delta;
    return ((time ^ sum) & (delta ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }
}
