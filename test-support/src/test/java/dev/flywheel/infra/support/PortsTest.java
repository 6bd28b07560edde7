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
}
