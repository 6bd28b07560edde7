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

  /** {@code n} distinct free ports. */
  public static int[] freePorts(int n) {
    int[] ports = new int[n];
    for (int i = 0; i < n; i++) {
      ports[i] = freePort();
    }
    return ports;
  }
}
