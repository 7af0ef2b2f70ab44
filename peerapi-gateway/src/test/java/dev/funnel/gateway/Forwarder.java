package dev.funnel.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A TCP forwarder on 127.0.0.1 for tests, between a dialler and a target port.
 *
 * <ul>
 *   <li>With {@code holdMillis > 0}, what the dialler sends is held for that long after the first
 *       byte of a batch and passed on in one write, so several TLS records sent in quick succession
 *       (a node's DataHello and its HTTP/2 preface) reach the target in one read, every time.</li>
 *   <li>{@link #silence(int)} makes one forwarded connection a dropped path, as a NAT that lost its
 *       mapping: both sockets stay open, and whatever either side sends is read and thrown away.</li>
 * </ul>
 */
final class Forwarder implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final long holdNanos;
  /** Local ports (on the target's side) of the connections whose bytes are thrown away. */
  private final Set<Integer> silenced = ConcurrentHashMap.newKeySet();
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "test-forwarder");
    thread.setDaemon(true);
    return thread;
  });

  Forwarder(int targetPort, long holdMillis) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.targetPort = targetPort;
    this.holdNanos = TimeUnit.MILLISECONDS.toNanos(holdMillis);
    threads.execute(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  /**
   * From now on, the connection the target sees coming from {@code targetSidePort} (its remote
   * port) forwards nothing either way.
   */
  void silence(int targetSidePort) {
    silenced.add(targetSidePort);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket in = server.accept();
        Socket out = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        in.setTcpNoDelay(true);
        out.setTcpNoDelay(true);
        sockets.add(in);
        sockets.add(out);
        int key = out.getLocalPort();
        if (holdNanos > 0) {
          threads.execute(() -> coalesce(in, out, key));
        } else {
          threads.execute(() -> pass(in, out, key));
        }
        threads.execute(() -> pass(out, in, key));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void coalesce(Socket from, Socket to, int key) {
    byte[] chunk = new byte[64 * 1024];
    ByteArrayOutputStream batch = new ByteArrayOutputStream();
    long first = 0;
    try (from; to) {
      from.setSoTimeout(2);
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (true) {
        int n;
        try {
          n = in.read(chunk);
        } catch (SocketTimeoutException e) {
          n = 0;
        }
        if (n < 0) {
          break;
        }
        if (n > 0 && !silenced.contains(key)) {
          if (batch.size() == 0) {
            first = System.nanoTime();
          }
          batch.write(chunk, 0, n);
        }
        if (batch.size() > 0 && System.nanoTime() - first >= holdNanos) {
          out.write(batch.toByteArray());
          batch.reset();
        }
      }
      out.write(batch.toByteArray());
      to.shutdownOutput();
    } catch (IOException e) {
      // either side closed: both are closed on the way out
    }
  }

  private void pass(Socket from, Socket to, int key) {
    byte[] chunk = new byte[64 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n; (n = in.read(chunk)) >= 0; ) {
        if (!silenced.contains(key)) {
          out.write(chunk, 0, n);
        }
      }
      if (!silenced.contains(key)) {
        to.shutdownOutput();
      }
    } catch (IOException e) {
      // closed by the other direction, or by a peer
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket socket : sockets) {
      socket.close();
    }
    threads.shutdownNow();
  }
}
