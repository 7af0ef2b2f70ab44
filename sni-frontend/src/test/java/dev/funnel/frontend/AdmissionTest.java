package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.await;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Backend.readUntilClosed;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The accept-time limits through a real frontend: refused connections are closed without a byte,
 * counted with their reason, and never cost the sources that behave. Hostile clients bind
 * 127.0.0.2, 127.0.0.3, …; the well-behaved one comes from 127.0.0.1.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AdmissionTest {

  Vertx vertx;
  Backend backend;
  FrontendVerticle frontend;

  void deploy(FrontendOptions limits) throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)));
    backend = new Backend();
    Fakes fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 3));
    frontend = new FrontendVerticle(limits
        .setFrontendId("fe-admission")
        .setDomain("funnel.localhost")
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setHelloTimeoutMillis(20_000)
        .setRouteCacheMillis(60_000), fakes.links);
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (backend != null) {
      backend.close();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aSourceOverItsRateIsClosedUnreadWhileAnotherSourceIsServed() throws Exception {
    deploy(new FrontendOptions().setSourceRatePerSecond(0.01).setSourceBurst(5));
    for (int i = 0; i < 5; i++) {
      try (Socket admitted = connectFrom("127.0.0.2")) {
        admitted.getOutputStream().write('x');   // not TLS: closed by the parser, so it was admitted
        assertThat(readToEnd(admitted)).isEmpty();
      }
    }
    assertThat(count("not_tls")).isEqualTo(5);
    for (int i = 0; i < 20; i++) {
      try (Socket refused = connectFrom("127.0.0.2")) {
        Backend.Ending ending = readUntilClosed(refused);
        assertThat(ending.bytes()).as("closed without a byte").isEmpty();
      }
    }
    awaitValue(() -> count("rate_limited"), 20);
    assertThat(count("not_tls")).as("refused before any parse").isEqualTo(5);

    serveOnceFrom("127.0.0.1");
    serveOnceFrom("127.0.0.1");
    assertThat(count("routed")).isEqualTo(2);
  }

  @Test
  void aSourceHoldingItsCapIsRefusedUntilOneOfItsConnectionsCloses() throws Exception {
    deploy(new FrontendOptions().setMaxConnectionsPerSource(2));
    Socket first = connectFrom("127.0.0.3");
    Socket second = connectFrom("127.0.0.3");
    awaitValue(this::openConnections, 2);
    try (Socket third = connectFrom("127.0.0.3")) {
      assertThat(readUntilClosed(third).bytes()).isEmpty();
    }
    awaitValue(() -> count("source_limit"), 1);
    serveOnceFrom("127.0.0.1");

    first.close();
    awaitValue(this::openConnections, 1);
    serveOnceFrom("127.0.0.3");
    second.close();
    awaitValue(this::openConnections, 0);
  }

  @Test
  void theGlobalCapRefusesEveryoneUntilAConnectionCloses() throws Exception {
    deploy(new FrontendOptions().setMaxConnections(3));
    List<Socket> held = new ArrayList<>();
    for (String ip : List.of("127.0.0.2", "127.0.0.3", "127.0.0.4")) {
      held.add(connectFrom(ip));
    }
    awaitValue(this::openConnections, 3);
    try (Socket refused = connectFrom("127.0.0.1")) {
      assertThat(readUntilClosed(refused).bytes()).isEmpty();
    }
    awaitValue(() -> count("server_full"), 1);

    held.remove(0).close();
    awaitValue(this::openConnections, 2);
    serveOnceFrom("127.0.0.1");
    for (Socket s : held) {
      s.close();
    }
    awaitValue(this::openConnections, 0);
  }

  @Test
  void everyWayAConnectionEndsGivesItsPlaceBack() throws Exception {
    deploy(new FrontendOptions().setMaxConnections(2).setHelloTimeoutMillis(300));
    serveOnceFrom("127.0.0.1");                                    // routed, then closed by both ends
    try (Socket alert = connectFrom("127.0.0.1")) {                // refused with an alert
      alert.getOutputStream().write(Hellos.jdk("TLSv1.3", "nobody.demo.funnel.localhost").getBytes());
      assertThat(readToEnd(alert)).hasSize(7);
    }
    connectFrom("127.0.0.1").close();                              // client closed first
    // Counted once the frontend has accepted it and seen it close: the open gauge alone reads 0
    // before the accept as well.
    awaitValue(() -> count("client_closed"), 1);
    awaitValue(this::openConnections, 0);
    for (int i = 0; i < 10; i++) {
      serveOnceFrom("127.0.0.1");
    }
    awaitValue(this::openConnections, 0);
    assertThat(count("server_full")).isZero();
  }

  @Test
  void aFloodOfRefusalsIsLoggedAsAFewLinesThatSayHowManyTheyStandFor() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        lines.add(java.text.MessageFormat.format(record.getMessage(), record.getParameters()));
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    Logger logger = Logger.getLogger(Admission.class.getName());
    logger.addHandler(handler);
    try {
      deploy(new FrontendOptions().setSourceRatePerSecond(0.01).setSourceBurst(1));
      connectFrom("127.0.0.5").close();
      for (int i = 0; i < 60; i++) {
        try (Socket refused = connectFrom("127.0.0.5")) {
          readUntilClosed(refused);
        }
      }
      awaitValue(() -> count("rate_limited"), 60);
    } finally {
      logger.removeHandler(handler);
    }
    assertThat(lines).isNotEmpty().hasSizeLessThan(60);
    assertThat(lines.get(0)).contains("127.0.0.5", "faster than its limit", "; rejecting");
  }

  /**
   * The keepalive timing an admitted connection runs with, read from the kernel: the listener
   * carries it on NIO (accepted sockets inherit it) and each connection on epoll; either way the
   * accepted socket's keepalive timer is due after the configured idle time, not the kernel's
   * default two hours. {@code /proc/net/tcp}'s (and {@code tcp6}'s) timer column is in clock ticks (USER_HZ, 100 on Linux).
   */
  @Test
  void anAdmittedConnectionProbesAfterTheConfiguredIdleTime() throws Exception {
    Path table = Path.of("/proc/net/tcp");
    Assumptions.assumeTrue(Files.isReadable(table), "Linux's TCP table");
    deploy(new FrontendOptions().setKeepAliveIdleSeconds(77));
    try (Socket client = connectFrom("127.0.0.1")) {
      awaitValue(this::openConnections, 1);
      String local = String.format("0100007F:%04X", frontend.actualPorts().get(443));
      String remote = String.format("0100007F:%04X", client.getLocalPort());
      List<String> lines = new ArrayList<>(Files.readAllLines(table));
      Path v6 = Path.of("/proc/net/tcp6");   // the JDK's dual-stack sockets: ::ffff:127.0.0.1 there
      if (Files.isReadable(v6)) {
        lines.addAll(Files.readAllLines(v6));
      }
      String timer = lines.stream()
          .map(line -> line.trim().split("\\s+"))
          .filter(f -> f.length > 5 && f[1].endsWith(local) && f[2].endsWith(remote))
          .map(f -> f[5])
          .findFirst().orElseThrow(() -> new AssertionError("no accepted socket " + local + " <- " + remote));
      String[] kindAndTicks = timer.split(":");
      assertThat(kindAndTicks[0]).as("the keepalive timer runs (" + timer + ")").isEqualTo("02");
      long seconds = Long.parseLong(kindAndTicks[1], 16) / 100;
      assertThat(seconds).as("seconds to the first probe (" + timer + ")").isBetween(60L, 77L);
    }
  }

  @Test
  void aTailnetsBandwidthCapShapesItsTunnelsAndDropsNothing() throws Exception {
    int cap = 128 * 1024;
    deploy(new FrontendOptions().setTailnetBytesPerSecond(cap));
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] down = Backend.random(4 * cap, 9);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    long start = System.nanoTime();
    try (Socket client = connectFrom("127.0.0.1")) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).as("every byte, in order").isEqualTo(down);
    }
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(await(node)).isEqualTo(hello);
    // One second's worth goes at once; the other three are paid for by waiting.
    double shaped = frontend.meterRegistry().get("funnel.frontend.shaped").tag("direction", "outbound").counter().count();
    assertThat(shaped).isGreaterThanOrEqualTo(2.5);
    assertThat(tookMillis).isGreaterThanOrEqualTo(2_500);
  }

  // --- helpers ----------------------------------------------------------------------------------

  Socket connectFrom(String ip) throws IOException {
    Socket socket = new Socket();
    socket.setSoTimeout(10_000);
    socket.bind(new InetSocketAddress(ip, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", frontend.actualPorts().get(443)), 10_000);
    return socket;
  }

  void serveOnceFrom(String ip) throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] down = Backend.random(2000, 3);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connectFrom(ip)) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(hello);
  }

  double count(String outcome) {
    MeterRegistry meters = frontend.meterRegistry();
    Counter counter = meters.find("funnel.frontend.connections").tags("port", "443", "outcome", outcome).counter();
    return counter == null ? 0 : counter.count();
  }

  double openConnections() {
    return frontend.meterRegistry().get("funnel.frontend.connections.open").gauge().value();
  }

  /** Meters move as connections end on the event loop: wait (bounded) for {@code expected}. */
  static void awaitValue(DoubleSupplier value, double expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    double seen;
    while ((seen = value.getAsDouble()) != expected && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(seen).isEqualTo(expected);   // the value the wait ended on, not a second read
  }
}
