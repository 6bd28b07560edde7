package dev.flywheel.gateway.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IdempotencyCacheTest {

  final AtomicLong now = new AtomicLong(1_000);
  final byte[] fp = {1};

  @Test
  void secondClaimWithinTheWindowGetsTheFirstOutcome() {
    IdempotencyCache<String> cache = new IdempotencyCache<>(100, 10, now::get);
    var first = cache.claim("k", fp);
    var second = cache.claim("k", fp);
    assertTrue(first.owner());
    assertFalse(second.owner());
    assertFalse(second.outcome().isDone(), "a concurrent duplicate waits for the first send");
    cache.complete(first, "written");
    assertEquals("written", second.outcome().join());
    assertFalse(cache.claim("k", new byte[] {2}).samePayload());
  }

  @Test
  void idsAreForgottenAfterTheWindow() {
    IdempotencyCache<String> cache = new IdempotencyCache<>(100, 10, now::get);
    cache.complete(cache.claim("k", fp), "x");
    now.addAndGet(99);
    assertFalse(cache.claim("k", fp).owner());
    now.addAndGet(1);
    assertTrue(cache.claim("k", fp).owner());
  }

  @Test
  void aFailedSendIsForgottenSoThatTheRetryWrites() {
    IdempotencyCache<String> cache = new IdempotencyCache<>(100, 10, now::get);
    var first = cache.claim("k", fp);
    var waiting = cache.claim("k", fp);
    cache.fail("k", first, new RuntimeException("broker down"));
    assertTrue(waiting.outcome().isCompletedExceptionally());
    assertTrue(cache.claim("k", fp).owner());
  }

  @Test
  void boundedByEntriesButNeverForgetsAnIdInFlight() {
    IdempotencyCache<String> cache = new IdempotencyCache<>(1_000_000, 3, now::get);
    var inFlight = cache.claim("a", fp);
    cache.complete(cache.claim("b", fp), "b");
    cache.complete(cache.claim("c", fp), "c");
    cache.complete(cache.claim("d", fp), "d"); // evicts b, the oldest finished entry
    assertEquals(3, cache.size());
    assertFalse(cache.claim("a", fp).owner(), "in-flight id kept");
    assertTrue(cache.claim("b", fp).owner(), "oldest finished id forgotten");
    assertFalse(inFlight.outcome().isDone());
  }

  @Test
  void anInFlightIdOutlivesItsWindow() {
    IdempotencyCache<String> cache = new IdempotencyCache<>(10, 10, now::get);
    cache.claim("k", fp);
    now.addAndGet(1_000);
    assertFalse(cache.claim("k", fp).owner());
  }
}
