package dev.funnel.test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A port for a server a test starts later (PostgreSQL, unbound, a cluster member that must keep its
 * address across a restart). Picked below Linux's ephemeral range (32768–60999 by default), so that
 * no outgoing connection of another process can take it between the pick and the bind: a port the
 * kernel hands out with {@code bind(0)} is one it may hand to the next {@code connect} too, which
 * once failed ClusterIT's restart ("Port [39359] is already in use").
 */
final class Ports {
  private static final int LOW = 20_000;
  private static final int HIGH = 32_000;

  private Ports() {
  }

  static int free() throws IOException {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int i = 0; i < 200; i++) {
      int port = random.nextInt(LOW, HIGH);
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
