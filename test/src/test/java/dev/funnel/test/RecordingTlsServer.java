package dev.funnel.test;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * The node's local server in tests: it terminates TLS itself with the node's certificate (Funnel
 * passes the raw stream). Per connection, the first byte picks a mode:
 * <ul>
 *   <li>{@code 'P'} + up length + down length (8 bytes each): reads {@code up} bytes while writing
 *       {@code down} seeded-random bytes at the same time (full duplex), records what it received;</li>
 *   <li>{@code 'H'}: reads until the client's half-close, then replies with the SHA-256 of what it
 *       received followed by 100 KiB, and closes.</li>
 * </ul>
 */
final class RecordingTlsServer implements AutoCloseable {

  static final int HALF_CLOSE_TAIL = 100 * 1024;

  private final SSLServerSocket server;
  final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();

  RecordingTlsServer(SSLContext context) throws IOException {
    server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    server.setEnabledProtocols(new String[] {"TLSv1.3"});
    Thread acceptor = new Thread(this::acceptLoop, "recording-tls-server");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        Thread t = new Thread(() -> serve(socket), "recording-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      int mode = in.read();
      if (mode == 'P') {
        long up = in.readLong();
        long down = in.readLong();
        Thread writer = new Thread(() -> {
          try {
            writeRandom(socket, down, 2);
          } catch (IOException ignored) {
            // Reported by the client's comparison.
          }
        });
        writer.start();
        byte[] got = in.readNBytes((int) up);
        received.add(got);
        writer.join();
      } else if (mode == 'H') {
        byte[] got = readToEnd(in);
        received.add(got);
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.write(MessageDigest.getInstance("SHA-256").digest(got));
        writeRandom(socket, HALF_CLOSE_TAIL, 3);
        out.flush();
      }
    } catch (Exception e) {
      received.add(new byte[0]);
    }
  }

  static void writeRandom(Socket socket, long count, long seed) throws IOException {
    Random random = new Random(seed);
    byte[] chunk = new byte[16 * 1024];
    long left = count;
    while (left > 0) {
      random.nextBytes(chunk);
      int n = (int) Math.min(chunk.length, left);
      socket.getOutputStream().write(chunk, 0, n);
      left -= n;
    }
    socket.getOutputStream().flush();
  }

  static byte[] expectedRandom(long count, long seed) {
    Random random = new Random(seed);
    byte[] out = new byte[(int) count];
    byte[] chunk = new byte[16 * 1024];
    int at = 0;
    while (at < count) {
      random.nextBytes(chunk);
      int n = (int) Math.min(chunk.length, count - at);
      System.arraycopy(chunk, 0, out, at, n);
      at += n;
    }
    return out;
  }

  static byte[] readToEnd(InputStream in) throws IOException {
    return in.readAllBytes();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
