package dev.flywheel.simulator;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;

/** URL helpers: joining paths and the loopback-only rule. */
final class Endpoints {

  private Endpoints() {}

  /**
   * {@code base} + {@code path}, whether or not base ends in a slash (base may carry a path
   * prefix).
   */
  static URI resolve(URI base, String path) {
    String b = base.toString();
    return URI.create((b.endsWith("/") ? b : b + "/") + path);
  }

  /** Whether every address the URL's host resolves to is a loopback address. */
  static boolean isLoopback(URI url) {
    String host = url.getHost();
    if (host == null) {
      return false;
    }
    try {
      InetAddress[] addresses = InetAddress.getAllByName(host);
      for (InetAddress a : addresses) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return addresses.length > 0;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
