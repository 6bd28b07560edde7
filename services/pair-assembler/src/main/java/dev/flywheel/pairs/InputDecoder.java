package dev.flywheel.pairs;

import dev.flywheel.schemas.DeadLetters;
import dev.flywheel.schemas.serde.AvroSerdeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes raw input records inside the topology, where the raw bytes and the offset are at hand, so
 * an undecodable record becomes a dead letter (written in the same exactly-once transaction)
 * instead of a crash. Then checks the key: a record whose key is not the id inside it, or that sits
 * on a partition its id does not hash to, would miss its join partner; it is sent through the
 * re-keying repartition topic (with its original coordinates in headers) and decoded again on the
 * other side.
 *
 * <p>A registry outage ({@code REGISTRY_ERROR}) is not bad input: the exception propagates, the
 * task fails and the records are read again after restart.
 */
final class InputDecoder<T> implements Processor<Object, byte[], String, Inbound> {
  // key: byte[] as read from an input topic; the (trusted) String id behind the re-keying topic

  static final String H_TOPIC = "flywheel.source.topic";
  static final String H_PARTITION = "flywheel.source.partition";
  static final String H_OFFSET = "flywheel.source.offset";
  static final String H_TIMESTAMP = "flywheel.source.timestamp";
  static final String H_KEY = "flywheel.source.key";

  private static final Logger LOG = LoggerFactory.getLogger(InputDecoder.class);

  private final Deserializer<T> deserializer;
  private final Function<T, String> idOf;
  private final BiFunction<T, SourceRef, Inbound> wrap;
  private final boolean rekeyed;
  private final int partitions;
  private ProcessorContext<String, Inbound> context;

  /**
   * @param rekeyed true for the decoder behind the re-keying topic: coordinates come from headers
   *     and the key is trusted
   * @param partitions the input topics' partition count for the partition check; 0 skips it
   */
  InputDecoder(
      Deserializer<T> deserializer,
      Function<T, String> idOf,
      BiFunction<T, SourceRef, Inbound> wrap,
      boolean rekeyed,
      int partitions) {
    this.deserializer = deserializer;
    this.idOf = idOf;
    this.wrap = wrap;
    this.rekeyed = rekeyed;
    this.partitions = partitions;
  }

  @Override
  public void init(ProcessorContext<String, Inbound> context) {
    this.context = context;
  }

  @Override
  public void process(Record<Object, byte[]> record) {
    SourceRef source = rekeyed ? fromHeaders(record) : fromMetadata(record);
    if (record.value() == null) {
      dead(
          record,
          DeadLetters.of(
              PairAssemblerTopology.SERVICE,
              ErrorTypes.NULL_VALUE,
              "record has no value (tombstone); an event was expected",
              source.topic(),
              source.partition(),
              source.offset(),
              source.rawKey(),
              null));
      return;
    }
    T value;
    try {
      value = deserializer.deserialize(source.topic(), record.value());
    } catch (AvroSerdeException e) {
      if (e.problem() == AvroSerdeException.Problem.REGISTRY_ERROR) {
        throw e;
      }
      dead(record, undecodable(e, source));
      return;
    } catch (RuntimeException e) {
      dead(record, undecodable(e, source));
      return;
    }
    String id = idOf.apply(value);
    if (rekeyed || rightlyKeyed((byte[]) record.key(), id, source.partition())) {
      context.forward(
          new Record<String, Inbound>(id, wrap.apply(value, source), record.timestamp()));
    } else {
      LOG.debug(
          "{} keyed '{}' but holds id '{}': re-keying",
          source,
          record.key() == null ? null : new String((byte[]) record.key(), StandardCharsets.UTF_8),
          id);
      context.forward(
          new Record<String, Inbound>(
              id, new Inbound.Misrouted(source), record.timestamp(), sourceHeaders(source)));
    }
  }

  private boolean rightlyKeyed(byte[] key, String id, int partition) {
    byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
    if (key == null || !Arrays.equals(key, idBytes)) {
      return false;
    }
    // the default partitioner (and Streams' repartition sink) place a key here
    return partitions <= 0 || Utils.toPositive(Utils.murmur2(idBytes)) % partitions == partition;
  }

  private static Headers sourceHeaders(SourceRef source) {
    RecordHeaders headers = new RecordHeaders();
    headers.add(H_TOPIC, source.topic().getBytes(StandardCharsets.UTF_8));
    headers.add(H_PARTITION, ByteBuffer.allocate(4).putInt(source.partition()).array());
    headers.add(H_OFFSET, ByteBuffer.allocate(8).putLong(source.offset()).array());
    headers.add(H_TIMESTAMP, ByteBuffer.allocate(8).putLong(source.timestamp()).array());
    if (source.rawKey() != null) {
      headers.add(H_KEY, source.rawKey());
    }
    return headers;
  }

  private SourceRef fromMetadata(Record<Object, byte[]> record) {
    RecordMetadata md = context.recordMetadata().orElseThrow();
    return new SourceRef(
        md.topic(),
        md.partition(),
        md.offset(),
        record.timestamp(),
        (byte[]) record.key(),
        record.value());
  }

  private SourceRef fromHeaders(Record<Object, byte[]> record) {
    Headers headers = record.headers();
    RecordMetadata md = context.recordMetadata().orElseThrow();
    Header topic = headers.lastHeader(H_TOPIC);
    if (topic == null) {
      // not written by us; describe it as read
      byte[] key =
          record.key() == null ? null : record.key().toString().getBytes(StandardCharsets.UTF_8);
      return new SourceRef(
          md.topic(), md.partition(), md.offset(), record.timestamp(), key, record.value());
    }
    Header key = headers.lastHeader(H_KEY);
    return new SourceRef(
        new String(topic.value(), StandardCharsets.UTF_8),
        ByteBuffer.wrap(headers.lastHeader(H_PARTITION).value()).getInt(),
        ByteBuffer.wrap(headers.lastHeader(H_OFFSET).value()).getLong(),
        ByteBuffer.wrap(headers.lastHeader(H_TIMESTAMP).value()).getLong(),
        key == null ? null : key.value(),
        record.value());
  }

  private static dev.flywheel.events.DeadLetter undecodable(RuntimeException e, SourceRef source) {
    return DeadLetters.ofUndecodable(
        PairAssemblerTopology.SERVICE,
        e,
        source.topic(),
        source.partition(),
        source.offset(),
        source.rawKey(),
        source.rawValue());
  }

  private void dead(Record<Object, byte[]> record, dev.flywheel.events.DeadLetter letter) {
    LOG.warn(
        "dead-lettering {}-{}@{}: {} {}",
        letter.getSourceTopic(),
        letter.getSourcePartition(),
        letter.getSourceOffset(),
        letter.getErrorType(),
        letter.getReason());
    context.forward(
        new Record<String, Inbound>(null, new Inbound.Dead(letter), record.timestamp()));
  }
}
