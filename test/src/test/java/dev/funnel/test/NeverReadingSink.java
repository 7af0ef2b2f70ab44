package dev.funnel.test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A local target that accepts every connection and never reads a byte (an app that hangs), with a
 * receive buffer of a few KiB, run as
 * its own process ({@link #start}) so that the sockets it holds count against its own open-file
 * limit, not the test's: {@code DataPlaneIT} holds 10,000 client sockets itself. Prints
 * {@code sink port N ready} once listening; on a line {@code close} on its stdin, closes every
 * socket it holds and prints {@code closed}; exits when its stdin closes (the test went away).
 */
public final class NeverReadingSink {

  private NeverReadingSink() {
  }

  public static void main(String[] args) throws Exception {
    ServerSocketChannel server = ServerSocketChannel.open();
    // A small receive buffer, set before listening so that every accepted socket has it (and the
    // kernel does not grow it): what the app never reads is held in Funnel's processes, not here.
    server.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
    System.out.println("sink port " + server.socket().getLocalPort() + " ready");
    System.out.flush();
    List<SocketChannel> held = new ArrayList<>();
    Thread commands = new Thread(() -> {
      try {
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
          if (line.equals("close")) {
            // The test is done with these: let go of their descriptors (never read, even now).
            synchronized (held) {
              for (SocketChannel socket : held) {
                socket.close();
              }
              held.clear();
            }
            System.out.println("closed");
            System.out.flush();
          }
        }
      } catch (java.io.IOException e) {
        // stdin closed
      }
      System.exit(0);
    });
    commands.setDaemon(true);
    commands.start();
    while (true) {
      SocketChannel accepted = server.accept();
      synchronized (held) {
        held.add(accepted);
      }
    }
  }

  /** This class in a JVM of its own (the test's java, the test classes on its class path). */
  static Process start() throws Exception {
    String classes = java.nio.file.Path.of(NeverReadingSink.class.getProtectionDomain().getCodeSource().getLocation()
        .toURI()).toString();
    return new ProcessBuilder(FunnelProcess.JAVA, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", classes,
        NeverReadingSink.class.getName()).redirectErrorStream(true).start();
  }
}
