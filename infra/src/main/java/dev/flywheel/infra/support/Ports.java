package dev.flywheel.infra.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free TCP ports on the loopback interface, never the same one twice in a JVM: the operating system
 * hands a just-closed ephemeral port out again, so two servers choosing ports at the same time (the
 * test broker and schema registry start in parallel) could both be given it — the registry's
 * management interface then failed to bind the port the broker had just taken.
 */
public final class Ports {

  /** Tries before giving up on a port this JVM has not handed out yet. */
  private static final int ATTEMPTS = 1000;

  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private Ports() {}

  /**
   * A port that was free a moment ago and that this JVM has not handed out before. Another process
   * may still take it before it is bound; callers choose ports once and keep them (so that a server
   * can be restarted on the same ports).
   */
  public static int freePort() {
    for (int i = 0; i < ATTEMPTS; i++) {
      int port = ephemeralPort();
      if (HANDED_OUT.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException(
        "no free loopback port that this JVM has not handed out in " + ATTEMPTS + " tries");
  }

  private static int ephemeralPort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port", e);
    }
  }

  /**
   * The first of {@code n} consecutive ports that were free a moment ago and that this JVM has not
   * handed out, all below the operating system's ephemeral range: a process started on one of them
   * a minute later must not find it taken by another process's outgoing connection (an ephemeral
   * port), which a range chosen anywhere may be — the e2e's rollout worker once found its port so.
   */
  public static int freeRange(int n) {
    int below = ephemeralLow() - n;
    java.util.Random random = new java.util.Random();
    for (int i = 0; i < ATTEMPTS; i++) {
      int base = LOWEST_RANGE_PORT + random.nextInt(Math.max(1, below - LOWEST_RANGE_PORT));
      boolean free = true;
      for (int p = base; p < base + n && free; p++) {
        free = !HANDED_OUT.contains(p) && bindable(p);
      }
      if (free) {
        for (int p = base; p < base + n; p++) {
          HANDED_OUT.add(p);
        }
        return base;
      }
    }
    throw new IllegalStateException(
        "no " + n + " consecutive free ports in " + ATTEMPTS + " tries");
  }

  /** Where {@link #freeRange} starts looking: above the well-known and most registered ports. */
  static final int LOWEST_RANGE_PORT = 10_000;

  /** The lowest ephemeral port (Linux: {@code ip_local_port_range}; else the IANA 49152). */
  static int ephemeralLow() {
    try {
      // readAllLines, not readString: a /proc file reports size 0, and readString read "3" of it
      String range =
          java.nio.file.Files.readAllLines(
                  java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
              .get(0)
              .trim();
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 49_152;
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** {@code n} distinct free ports. */
  public static int[] freePorts(int n) {
    int[] ports = new int[n];
    for (int i = 0; i < n; i++) {
      ports[i] = freePort();
    }
    return ports;
  }
}
