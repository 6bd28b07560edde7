package dev.flywheel.pairs;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.BytesSerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The assembler's state in ONE key-value store per task, with a one-byte namespace per kind of
 * entry. One store rather than six: one RocksDB instance and one changelog partition per task
 * instead of six, so fewer partitions in every exactly-once commit, a faster start and far less
 * off-heap memory.
 *
 * <pre>
 *  T transcriptId                          -> SourceRef of the transcript (its raw wire bytes)
 *  P transcriptId 0x00 rankingId           -> SourceRef of a ranking waiting for its transcript
 *  S rankingId                             -> record timestamp of a ranking already turned into a group
 *  J transcriptId                          -> earlier judgements of the transcript (agreement)
 *  C                                       -> this task's cumulative counters
 *  E expiry(8 bytes, big-endian) kind id   -> (empty) expiry index: byte order is time order
 * </pre>
 */
final class AssemblerState {

  static final String STORE = "pa-state";

  static final byte TRANSCRIPT = 'T';
  static final byte PENDING = 'P';
  static final byte SEEN = 'S';
  static final byte JUDGEMENTS = 'J';
  static final byte COUNTERS = 'C';
  static final byte EXPIRY = 'E';

  private static final byte[] EMPTY = new byte[0];
  private static final Serde<SourceRef> SOURCE_REF = StoreSerdes.sourceRef();
  private static final Serde<List<Agreement.Judgement>> JUDGEMENT_LIST = StoreSerdes.judgements();
  private static final Serde<Counters> COUNTER_SERDE = StoreSerdes.counters();
  private static final Serde<Long> LONG = Serdes.Long();

  private final KeyValueStore<Bytes, byte[]> store;

  AssemblerState(KeyValueStore<Bytes, byte[]> store) {
    this.store = store;
  }

  /** An expired entry of the index: what expired ({@code kind} T, P or S) and its id. */
  record Expired(Bytes indexKey, byte kind, String id) {}

  // ---------------------------------------------------------------- transcripts

  SourceRef transcript(String transcriptId) {
    return SOURCE_REF.deserializer().deserialize(null, store.get(key(TRANSCRIPT, transcriptId)));
  }

  void putTranscript(String transcriptId, SourceRef source) {
    store.put(key(TRANSCRIPT, transcriptId), SOURCE_REF.serializer().serialize(null, source));
  }

  void deleteTranscript(String transcriptId) {
    store.delete(key(TRANSCRIPT, transcriptId));
    store.delete(key(JUDGEMENTS, transcriptId));
  }

  // ---------------------------------------------------------------- pending rankings

  /** The pending id of a ranking: transcriptId 0x00 rankingId. */
  static String pendingId(String transcriptId, String rankingId) {
    return transcriptId + '\u0000' + rankingId;
  }

  static String transcriptOfPending(String pendingId) {
    return pendingId.substring(0, pendingId.indexOf('\u0000'));
  }

  SourceRef pending(String pendingId) {
    return SOURCE_REF.deserializer().deserialize(null, store.get(key(PENDING, pendingId)));
  }

  void putPending(String pendingId, SourceRef source) {
    store.put(key(PENDING, pendingId), SOURCE_REF.serializer().serialize(null, source));
  }

  void deletePending(String pendingId) {
    store.delete(key(PENDING, pendingId));
  }

  /** Rankings waiting for {@code transcriptId}, as (pending id, source). */
  List<KeyValue<String, SourceRef>> pendingFor(String transcriptId) {
    List<KeyValue<String, SourceRef>> out = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it =
        store.prefixScan(key(PENDING, transcriptId + '\u0000'), new BytesSerializer())) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        out.add(KeyValue.pair(id(kv.key), SOURCE_REF.deserializer().deserialize(null, kv.value)));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- dedup

  boolean seen(String rankingId) {
    return store.get(key(SEEN, rankingId)) != null;
  }

  void markSeen(String rankingId, long timestamp) {
    store.put(key(SEEN, rankingId), LONG.serializer().serialize(null, timestamp));
  }

  void forgetSeen(String rankingId) {
    store.delete(key(SEEN, rankingId));
  }

  // ---------------------------------------------------------------- agreement and counters

  List<Agreement.Judgement> judgements(String transcriptId) {
    List<Agreement.Judgement> list =
        JUDGEMENT_LIST.deserializer().deserialize(null, store.get(key(JUDGEMENTS, transcriptId)));
    return list == null ? new ArrayList<>() : new ArrayList<>(list);
  }

  void putJudgements(String transcriptId, List<Agreement.Judgement> judgements) {
    store.put(
        key(JUDGEMENTS, transcriptId), JUDGEMENT_LIST.serializer().serialize(null, judgements));
  }

  Counters counters() {
    Counters counters =
        COUNTER_SERDE.deserializer().deserialize(null, store.get(key(COUNTERS, "")));
    return counters == null ? new Counters() : counters;
  }

  void putCounters(Counters counters) {
    store.put(key(COUNTERS, ""), COUNTER_SERDE.serializer().serialize(null, counters));
  }

  // ---------------------------------------------------------------- expiry index

  void expireAt(long time, byte kind, String id) {
    byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
    store.put(
        Bytes.wrap(
            ByteBuffer.allocate(10 + idBytes.length)
                .put(EXPIRY)
                .putLong(Math.max(0, time))
                .put(kind)
                .put(idBytes)
                .array()),
        EMPTY);
  }

  /** Up to {@code max} index entries due at or before {@code time}, earliest first. */
  List<Expired> dueBy(long time, int max) {
    List<Expired> due = new ArrayList<>();
    Bytes from = Bytes.wrap(ByteBuffer.allocate(9).put(EXPIRY).putLong(0).array());
    Bytes to =
        Bytes.wrap(ByteBuffer.allocate(9).put(EXPIRY).putLong(Math.max(0, time) + 1).array());
    try (KeyValueIterator<Bytes, byte[]> it = store.range(from, to)) {
      while (it.hasNext() && due.size() < max) {
        Bytes k = it.next().key;
        byte[] b = k.get();
        if (b.length < 10) {
          continue; // the bound itself; real entries are longer
        }
        due.add(new Expired(k, b[9], new String(b, 10, b.length - 10, StandardCharsets.UTF_8)));
      }
    }
    return due;
  }

  void deleteIndexEntry(Bytes indexKey) {
    store.delete(indexKey);
  }

  // ---------------------------------------------------------------- keys

  private static Bytes key(byte kind, String id) {
    byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
    byte[] key = new byte[1 + idBytes.length];
    key[0] = kind;
    System.arraycopy(idBytes, 0, key, 1, idBytes.length);
    return Bytes.wrap(key);
  }

  private static String id(Bytes key) {
    byte[] b = key.get();
    return new String(b, 1, b.length - 1, StandardCharsets.UTF_8);
  }
}
