package dev.flywheel.gateway.publish;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Remembers, per (app, event kind, event id), the outcome of the first request that carried it, for
 * a time window and up to a number of entries (oldest forgotten first). The entry is claimed BEFORE
 * the event is sent, so a concurrent duplicate finds it and waits for the same outcome instead of
 * writing again. A failed send forgets its entry, so the client's retry writes the event.
 *
 * <p>In memory: it covers one gateway replica and is lost on restart. Consumers still de-duplicate
 * by event id; this only keeps retries from multiplying records on the topics.
 */
public final class IdempotencyCache<R> {

  /**
   * What {@link #claim} found. {@code owner}: this caller must send and then {@link #complete} or
   * {@link #fail}.
   */
  public record Claim<R>(boolean owner, boolean samePayload, CompletableFuture<R> outcome) {}

  private static final class Entry<R> {
    final byte[] fingerprint;
    final long expiresAtMillis;
    final CompletableFuture<R> outcome = new CompletableFuture<>();

    Entry(byte[] fingerprint, long expiresAtMillis) {
      this.fingerprint = fingerprint;
      this.expiresAtMillis = expiresAtMillis;
    }
  }

  private final long windowMillis;
  private final int maxEntries;
  private final LongSupplier clockMillis;
  private final LinkedHashMap<String, Entry<R>> entries = new LinkedHashMap<>();

  public IdempotencyCache(long windowMillis, int maxEntries, LongSupplier clockMillis) {
    if (windowMillis <= 0 || maxEntries <= 0) {
      throw new IllegalArgumentException("idempotency window and max entries must be positive");
    }
    this.windowMillis = windowMillis;
    this.maxEntries = maxEntries;
    this.clockMillis = clockMillis;
  }

  /**
   * Claims {@code key}: the first caller within the window becomes the owner; later callers get the
   * owner's outcome (pending or done) and whether their payload fingerprint matches the owner's.
   */
  public synchronized Claim<R> claim(String key, byte[] fingerprint) {
    long now = clockMillis.getAsLong();
    Entry<R> existing = entries.get(key);
    if (existing != null && (existing.expiresAtMillis > now || !existing.outcome.isDone())) {
      return new Claim<>(false, Arrays.equals(existing.fingerprint, fingerprint), existing.outcome);
    }
    if (existing != null) {
      entries.remove(key);
    }
    evict(now);
    Entry<R> entry = new Entry<>(fingerprint, now + windowMillis);
    entries.put(key, entry);
    return new Claim<>(true, true, entry.outcome);
  }

  /** The owner's send succeeded: waiting and later duplicates get {@code result}. */
  public void complete(Claim<R> claim, R result) {
    claim.outcome().complete(result);
  }

  /**
   * The owner's send failed: forget the id (so that a retry writes it) and fail the waiting
   * duplicates.
   */
  public void fail(String key, Claim<R> claim, Throwable error) {
    synchronized (this) {
      Entry<R> entry = entries.get(key);
      if (entry != null && entry.outcome == claim.outcome()) {
        entries.remove(key);
      }
    }
    claim.outcome().completeExceptionally(error);
  }

  public synchronized int size() {
    return entries.size();
  }

  /** Drops expired entries from the head, then the oldest finished ones while at capacity. */
  private void evict(long now) {
    Iterator<Map.Entry<String, Entry<R>>> it = entries.entrySet().iterator();
    while (it.hasNext()) {
      Entry<R> e = it.next().getValue();
      boolean expired = e.expiresAtMillis <= now;
      if (!expired && entries.size() < maxEntries) {
        return; // every later entry is younger
      }
      // an id still being sent is never forgotten: that would let a concurrent duplicate through
      if (e.outcome.isDone()) {
        it.remove();
      }
    }
  }
}
