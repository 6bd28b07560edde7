package dev.flywheel.trainerkit;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends (dead letters) that must be acknowledged before the consumer's offsets move past the
 * records they stand for: {@link #send} is asynchronous, {@link #awaitAcknowledged} flushes and
 * throws when any send since the last call failed, so the caller does not commit and the records
 * are read, and sent, again after a restart. The trainers' answer to "a dead letter lost while its
 * input was committed"; the pair assembler gets the same from Kafka Streams' exactly-once commit.
 */
public final class AcknowledgedSends<K, V> {

  private static final Logger LOG = LoggerFactory.getLogger(AcknowledgedSends.class);

  private final Producer<K, V> producer;
  private final AtomicReference<Exception> failure = new AtomicReference<>();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();

  public AcknowledgedSends(Producer<K, V> producer) {
    this.producer = producer;
  }

  /** Sends {@code record}; {@code what} names it in the log if the send fails. */
  public void send(ProducerRecord<K, V> record, String what) {
    sent.incrementAndGet();
    producer.send(
        record,
        (metadata, e) -> {
          if (e != null) {
            failed.incrementAndGet();
            failure.compareAndSet(null, e);
            LOG.error("could not write {} to {}: {}", what, record.topic(), e.toString());
          }
        });
  }

  /**
   * Blocks until every send so far is acknowledged or failed; throws {@link NotAcknowledged} when
   * one failed since the last call. Call it before committing offsets past the records that were
   * sent for.
   */
  public void awaitAcknowledged() {
    producer.flush();
    Exception e = failure.getAndSet(null);
    if (e != null) {
      throw new NotAcknowledged(e);
    }
  }

  public long sent() {
    return sent.get();
  }

  public long failed() {
    return failed.get();
  }

  /** A send was not acknowledged: the offsets of its input must not be committed. */
  public static final class NotAcknowledged extends RuntimeException {
    NotAcknowledged(Exception cause) {
      super(
          "a send was not acknowledged (" + cause.getMessage() + "); not committing past its input",
          cause);
    }
  }
}
