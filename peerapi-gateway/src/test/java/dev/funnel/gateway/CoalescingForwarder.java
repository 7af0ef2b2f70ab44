package dev.funnel.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A TCP forwarder on 127.0.0.1 for tests: what the dialler sends is held for {@code holdMillis}
 * after the first byte of a batch and passed on in one write, so several TLS records sent in quick
 * succession (a node's DataHello and its HTTP/2 preface) reach the other side in one read, every
 * time. The other direction is passed on as it comes.
 */
final class CoalescingForwarder implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final long holdNanos;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "coalescing-forwarder");
    thread.setDaemon(true);
    return thread;
  });

  CoalescingForwarder(int targetPort, long holdMillis) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.targetPort = targetPort;
    this.holdNanos = TimeUnit.MILLISECONDS.toNanos(holdMillis);
    threads.execute(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket in = server.accept();
        Socket out = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        in.setTcpNoDelay(true);
        out.setTcpNoDelay(true);
        threads.execute(() -> coalesce(in, out));
        threads.execute(() -> pass(out, in));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void coalesce(Socket from, Socket to) {
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
        if (n > 0) {
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

  private void pass(Socket from, Socket to) {
    byte[] chunk = new byte[64 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n; (n = in.read(chunk)) >= 0; ) {
        out.write(chunk, 0, n);
      }
      to.shutdownOutput();
    } catch (IOException e) {
      // closed by coalesce(), or by a peer
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    threads.shutdownNow();
  }
}
