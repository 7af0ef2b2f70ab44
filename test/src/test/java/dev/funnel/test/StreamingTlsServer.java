package dev.funnel.test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A node's local server for the hostile tests: it terminates TLS with the node's certificate and
 * counts every TCP connection it accepts (so a test can prove that a refused client never reached
 * it). Per connection, the first byte picks a mode:
 * <ul>
 *   <li>{@code 'E'}, a 4-byte length n, n bytes: echoes them and closes (an honest request);</li>
 *   <li>{@code 'S'}: writes seeded random bytes as fast as the connection takes them, up to
 *       {@link #STREAM_BYTES}, counting in {@link #streamed} what the socket accepted;</li>
 *   <li>{@code 'T'}: trickles 1 KiB every 100 ms until the peer goes (a stream with empty buffers
 *       behind it, so a close is seen at once rather than after megabytes in flight);</li>
 *   <li>{@code 'R'}: writes 64 KiB, then resets the connection (SO_LINGER 0).</li>
 * </ul>
 */
final class StreamingTlsServer implements AutoCloseable {

  static final long STREAM_BYTES = 200L * 1024 * 1024;

  private final SSLContext context;
  private final ServerSocket server;
  /** TCP connections accepted, counted before the TLS handshake. */
  final AtomicInteger accepted = new AtomicInteger();
  /** Bytes the last 'S' connection's socket has taken so far. */
  final AtomicLong streamed = new AtomicLong();

  StreamingTlsServer(SSLContext context) throws IOException {
    this.context = context;
    // Plain TCP underneath, TLS layered on top, so 'R' can reset the TCP connection itself.
    server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "streaming-tls-server");
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
        accepted.incrementAndGet();
        Thread t = new Thread(() -> serve(socket), "streaming-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket raw) {
    Socket socket = raw;
    try {
      SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(raw, null, raw.getPort(), true);
      tls.setUseClientMode(false);
      tls.setEnabledProtocols(new String[] {"TLSv1.3"});
      socket = tls;
      socket.setSoTimeout(120_000);
      DataInputStream in = new DataInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      int mode = in.read();
      if (mode == 'E') {
        byte[] body = in.readNBytes(in.readInt());
        out.write(body);
        out.flush();
      } else if (mode == 'S') {
        streamed.set(0);
        Random random = new Random(5);
        byte[] chunk = new byte[16 * 1024];
        while (streamed.get() < STREAM_BYTES) {
          random.nextBytes(chunk);
          out.write(chunk);
          streamed.addAndGet(chunk.length);
        }
        out.flush();
      } else if (mode == 'T') {
        while (true) {
          out.write(new byte[1024]);
          out.flush();
          Thread.sleep(100);
        }
      } else if (mode == 'R') {
        out.write(new byte[64 * 1024]);
        out.flush();
        raw.setSoLinger(true, 0);
        raw.close();   // an RST, no close_notify: the server process "crashed"
      }
    } catch (IOException | InterruptedException e) {
      // The peer went away (the tests that stream end that way); nothing to record.
    } finally {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
