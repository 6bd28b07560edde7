package dev.flywheel.serving.bench;

import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * Looks into one service JVM from outside: heap used right after a full GC and the live thread
 * count (through the JVM's local management agent, attached with the Attach API), open file
 * descriptors and established TCP connections (from {@code /proc}, Linux only; -1 elsewhere).
 */
final class SoakProbe implements AutoCloseable {

  /**
   * One look at the process. Connections: all established TCP sockets, and those on its HTTP port.
   */
  record Sample(
      double heapAfterGcMb, int threads, int openFds, int connections, int httpConnections) {}

  private final String name;
  private final long pid;
  private final int httpPort;
  private final JMXConnector connector;
  private final MemoryMXBean memory;
  private final ThreadMXBean threads;

  private SoakProbe(
      String name, long pid, int httpPort, JMXConnector connector, MBeanServerConnection server)
      throws IOException {
    this.name = name;
    this.pid = pid;
    this.httpPort = httpPort;
    this.connector = connector;
    this.memory =
        ManagementFactory.newPlatformMXBeanProxy(
            server, ManagementFactory.MEMORY_MXBEAN_NAME, MemoryMXBean.class);
    this.threads =
        ManagementFactory.newPlatformMXBeanProxy(
            server, ManagementFactory.THREAD_MXBEAN_NAME, ThreadMXBean.class);
  }

  /**
   * Attaches to the java process {@code pid}, or to the java process below it (the platform starts
   * services through a small {@code /bin/sh} wrapper).
   */
  static SoakProbe attach(String name, long pid, int httpPort) throws Exception {
    long java = javaPid(pid);
    VirtualMachine vm = VirtualMachine.attach(Long.toString(java));
    String address;
    try {
      address = vm.startLocalManagementAgent();
    } finally {
      vm.detach();
    }
    JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address));
    return new SoakProbe(name, java, httpPort, connector, connector.getMBeanServerConnection());
  }

  private static long javaPid(long pid) {
    ProcessHandle root =
        ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no process " + pid));
    return Stream.concat(Stream.of(root), root.descendants())
        .filter(
            p ->
                p.info()
                    .command()
                    .map(c -> c.endsWith("/java") || c.endsWith("java.exe"))
                    .orElse(false))
        .findFirst()
        .map(ProcessHandle::pid)
        .orElseThrow(() -> new IllegalStateException("no java process at or below " + pid));
  }

  String name() {
    return name;
  }

  long pid() {
    return pid;
  }

  /**
   * Forces a full GC in the process (System.gc, the service runs SerialGC), then reads everything.
   */
  Sample sample() throws IOException {
    memory.gc();
    double heap = memory.getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
    int threadCount = threads.getThreadCount();
    Set<String> sockets = socketInodes();
    return new Sample(
        heap,
        threadCount,
        sockets == null ? -1 : openFds(),
        established(sockets, -1),
        established(sockets, httpPort));
  }

  private int openFds() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return (int) fds.count();
    }
  }

  /** Inodes of the process's sockets, or null without /proc. */
  private Set<String> socketInodes() throws IOException {
    Path dir = Path.of("/proc", Long.toString(pid), "fd");
    if (!Files.isDirectory(dir)) {
      return null;
    }
    Set<String> inodes = new HashSet<>();
    try (Stream<Path> fds = Files.list(dir)) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith("socket:[")) {
            inodes.add(target.substring(8, target.length() - 1));
          }
        } catch (IOException closedMeanwhile) {
          // the descriptor was closed between listing and reading
        }
      }
    }
    return inodes;
  }

  /**
   * Established TCP connections among {@code inodes}; with {@code localPort} >= 0 only those on
   * that port.
   */
  private int established(Set<String> inodes, int localPort) throws IOException {
    if (inodes == null) {
      return -1;
    }
    int count = 0;
    for (String table : List.of("tcp", "tcp6")) {
      Path file = Path.of("/proc", Long.toString(pid), "net", table);
      if (!Files.exists(file)) {
        continue;
      }
      for (String line : Files.readAllLines(file)) {
        String[] f = line.trim().split("\\s+");
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
        if (f.length < 10 || !f[3].equals("01") || !inodes.contains(f[9])) {
          continue;
        }
        int port = Integer.parseInt(f[1].substring(f[1].lastIndexOf(':') + 1), 16);
        if (localPort < 0 || port == localPort) {
          count++;
        }
      }
    }
    return count;
  }

  @Override
  public void close() throws IOException {
    connector.close();
  }
}
