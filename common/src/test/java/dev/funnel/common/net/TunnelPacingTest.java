package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A paced splice carries every byte (shaping, never dropping) and really holds its source back:
 * after the pacer asks for a wait, the source is not read again before the wait is over.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TunnelPacingTest {

  private Vertx vertx;
  private NetClient client;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    client = vertx.createNetClient();
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(20, TimeUnit.SECONDS);
  }

  /** Records each call; asks for {@code waitMillis} after the first one only. */
  static final class RecordingPacer implements Pacer {
    final long waitMillis;
    final List<Long> callNanos = new CopyOnWriteArrayList<>();
    final AtomicLong bytes = new AtomicLong();

    RecordingPacer(long waitMillis) {
      this.waitMillis = waitMillis;
    }

    @Override
    public long delayNanos(long sent) {
      callNanos.add(System.nanoTime());
      bytes.addAndGet(sent);
      return callNanos.size() == 1 ? TimeUnit.MILLISECONDS.toNanos(waitMillis) : 0;
    }
  }

  @Test
  void everyByteArrivesAndTheSourceWaitsOutThePacersDelay() throws Exception {
    byte[] request = random(1024 * 1024, 1);
    byte[] reply = random(700 * 1024 + 3, 2);
    RecordingPacer up = new RecordingPacer(300);
    RecordingPacer down = new RecordingPacer(0);
    CompletableFuture<byte[]> received = new CompletableFuture<>();

    try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Thread server = new Thread(() -> {
        try (Socket s = backend.accept()) {
          received.complete(readAll(s.getInputStream()));
          s.getOutputStream().write(reply);
        } catch (Exception e) {
          received.completeExceptionally(e);
        }
      });
      server.start();

      NetServer front = vertx.createNetServer().connectHandler(socket -> {
        Tunnel.prepare(socket);
        socket.pause();
        client.connect(backend.getLocalPort(), "127.0.0.1").onSuccess(back -> {
          Tunnel.prepare(back);
          back.pause();
          Tunnel.splice(socket, Buffer.buffer(), back, Buffer.buffer(), up, down);
        }).onFailure(err -> socket.close());
      });
      int port = front.listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS).actualPort();

      try (Socket s = new Socket("127.0.0.1", port)) {
        s.getOutputStream().write(request);
        s.shutdownOutput();
        assertThat(readAll(s.getInputStream())).isEqualTo(reply);
      }
      assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(request);
    }
    assertThat(up.bytes.get()).as("every byte went through the pacer").isEqualTo(request.length);
    assertThat(down.bytes.get()).isEqualTo(reply.length);
    assertThat(up.callNanos).hasSizeGreaterThan(1);
    long pausedNanos = up.callNanos.get(1) - up.callNanos.get(0);
    assertThat(pausedNanos).as("the source was not read during the wait")
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
  }

  static byte[] readAll(InputStream in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    in.transferTo(out);
    return out.toByteArray();
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }
}
