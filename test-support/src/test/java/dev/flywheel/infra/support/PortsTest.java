package dev.flywheel.infra.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Ports chosen at the same time by several threads — as the test broker and schema registry choose
 * theirs, in parallel — are all different.
 */
class PortsTest {

  @Test
  void portsChosenConcurrentlyAreNeverHandedOutTwice() throws Exception {
    int threads = 8;
    int perThread = 50;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<int[]>> chosen = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        chosen.add(pool.submit(() -> Ports.freePorts(perThread)));
      }
      Set<Integer> all = new HashSet<>();
      for (Future<int[]> f : chosen) {
        for (int port : f.get()) {
          assertTrue(port > 0 && port < 65536, "a TCP port: " + port);
          all.add(port);
        }
      }
      // closed ephemeral ports come back from the OS quickly: without the JVM's own record some of
      // these 400 would repeat
      assertEquals(threads * perThread, all.size(), "every port handed out once");
      assertTrue(all.add(Ports.freePort()), "nor later");
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aRangeIsConsecutiveFreeBelowTheEphemeralPortsAndNeverHandedOutAgain() throws Exception {
    int low = Ports.ephemeralLow();
    assertTrue(low > Ports.LOWEST_RANGE_PORT + 100, "an ephemeral range above 10,000: " + low);
    Set<Integer> seen = new HashSet<>();
    for (int r = 0; r < 20; r++) {
      int base = Ports.freeRange(8);
      assertTrue(base >= Ports.LOWEST_RANGE_PORT && base + 8 <= low, base + " below " + low);
      for (int p = base; p < base + 8; p++) {
        assertTrue(seen.add(p), "port " + p + " handed out twice");
        try (java.net.ServerSocket socket =
            new java.net.ServerSocket(p, 1, java.net.InetAddress.getLoopbackAddress())) {
          assertEquals(p, socket.getLocalPort());
        }
      }
    }
  }
}
