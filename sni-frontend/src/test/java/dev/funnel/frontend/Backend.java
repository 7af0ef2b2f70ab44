package dev.funnel.frontend;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A node's local server, and the public client, as plain blocking {@code java.net} sockets (each
 * side can half-close, independent of Vert.x). Every blocking call is bounded by {@link #IO_TIMEOUT_MILLIS}.
 */
final class Backend implements AutoCloseable {

  static final int IO_TIMEOUT_MILLIS = 10_000;

  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "test-io");
    t.setDaemon(true);
    return t;
  });

  Backend() throws IOException {
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    server.setSoTimeout(IO_TIMEOUT_MILLIS);
  }

  int port() {
    return server.getLocalPort();
  }

  /** The next connection the (fake) gateway opens, with read timeouts set. */
  Socket accept() {
    try {
      Socket socket = server.accept();
      socket.setSoTimeout(IO_TIMEOUT_MILLIS);
      socket.setTcpNoDelay(true);
      return socket;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  <T> CompletableFuture<T> async(IoSupplier<T> work) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return work.get();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, threads);
  }

  @Override
  public void close() throws IOException {
    threads.shutdownNow();
    server.close();
  }

  interface IoSupplier<T> {
    T get() throws IOException;
  }

  // --- blocking helpers ---------------------------------------------------------------------------

  static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.setSoTimeout(IO_TIMEOUT_MILLIS);
    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), IO_TIMEOUT_MILLIS);
    return socket;
  }

  static byte[] readExactly(Socket socket, int n) throws IOException {
    byte[] out = socket.getInputStream().readNBytes(n);
    if (out.length != n) {
      throw new IOException("EOF after " + out.length + " of " + n + " bytes");
    }
    return out;
  }

  /** Everything until EOF. A read timeout fails (throws) rather than returning what came. */
  static byte[] readToEnd(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[64 * 1024];
    int n;
    while ((n = in.read(chunk)) >= 0) {
      out.write(chunk, 0, n);
    }
    return out.toByteArray();
  }

  /** What the peer did before going away: the bytes it sent, and whether it ended with a reset. */
  record Ending(byte[] bytes, boolean reset) {
  }

  static Ending readUntilClosed(Socket socket) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[4096];
    try {
      int n;
      while ((n = socket.getInputStream().read(chunk)) >= 0) {
        out.write(chunk, 0, n);
      }
      return new Ending(out.toByteArray(), false);
    } catch (SocketTimeoutException e) {
      throw e;
    } catch (IOException e) {   // "Connection reset"
      return new Ending(out.toByteArray(), true);
    }
  }

  static void writeBytewise(Socket socket, byte[] bytes) throws IOException {
    for (byte b : bytes) {
      socket.getOutputStream().write(b);
      socket.getOutputStream().flush();
    }
  }

  static byte[] random(int n, long seed) {
    byte[] bytes = new byte[n];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  static <T> T await(CompletableFuture<T> future) throws Exception {
    return future.get(IO_TIMEOUT_MILLIS * 2L, TimeUnit.MILLISECONDS);
  }
}
