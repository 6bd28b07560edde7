package dev.flywheel.infra.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Free TCP ports on the loopback interface. */
public final class Ports {

  private Ports() {}

  /**
   * A port that was free a moment ago. Another process may still take it before it is bound;
   * callers choose ports once and keep them (so that a server can be restarted on the same ports).
   */
  public static int freePort() {
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
      int port;
      boolean duplicate;
      do {
        port = freePort();
        duplicate = false;
        for (int j = 0; j < i; j++) {
          duplicate |= ports[j] == port;
        }
      } while (duplicate);
      ports[i] = port;
    }
    return ports;
  }
}
