package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.tls.DevCa;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The hostile internet, through real processes on loopback: one {@code funnel server} (default
 * limits; a 256 MiB heap) and two nodes ({@code web}, {@code fault}) whose local server is a
 * {@link StreamingTlsServer}. Hostile clients bind 127.0.0.2 and up, honest ones 127.0.0.1, so the
 * per-source limits act on the first and never on the second. Every test ends by checking, through
 * the server's {@code /metrics}, that its refusals were counted with their reason, and that an
 * honest request still goes through.
 *
 * <p>Measured figures are printed as {@code hostile: …} lines and kept in
 * {@code target/e2e-logs/hostile/figures.txt}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@Isolated("bounds on RSS and descriptors, and deadlines that a busy machine would blur")
class HostileIT {

  static final String DOMAIN = "funnel.localhost";
  static final String WEB = "web.demo." + DOMAIN;
  static final String FAULT = "fault.demo." + DOMAIN;
  static final int MIB = 1024 * 1024;
  /** Heap of the server and node processes: a hard bound; unbounded buffering would exhaust it. */
  static final List<String> JVM = List.of("-Xmx256m");
  /** The server's ClientHello deadline (the default). */
  static final long HELLO_TIMEOUT_MILLIS = 10_000;
  /** The server's idle timeout on public connections, short here so a dropped node is seen quickly. */
  static final int IDLE_TIMEOUT_SECONDS = 6;

  private Path dir;
  private Path state;
  private Path logs;
  private FunnelProcess server;
  private FunnelProcess web;
  private FunnelProcess fault;
  private StreamingTlsServer backend;
  private SSLContext client;
  private int public443;
  private int public8443;
  private int gatewayPort;
  private int adminPort;
  private int metricsPort;
  private String reusableKey;
  /** Every auth key this run made, and the admin token: none may ever appear in a process's output. */
  private final List<String> secrets = new CopyOnWriteArrayList<>();
  /** Output of every server and node process of the run (refused node attempts included). */
  private final List<Object> outputs = new CopyOnWriteArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    dir = TempDirs.create("funnel-hostile");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "hostile");
    Files.createDirectories(logs);
    Files.deleteIfExists(logs.resolve("figures.txt"));
    server = FunnelProcess.start("server", logs, JVM, "server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--public", "8443=127.0.0.1:0",
        "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
        "--idle-timeout-s", Integer.toString(IDLE_TIMEOUT_SECONDS));
    outputs.add(server);
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    public8443 = Integer.parseInt(server.fromReadyLine("public 8443 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    adminPort = Integer.parseInt(server.fromReadyLine("admin http://127\\.0\\.0\\.1:(\\d+)"));
    metricsPort = Integer.parseInt(server.fromReadyLine("metrics http://127\\.0\\.0\\.1:(\\d+)"));
    secrets.add(Files.readString(state.resolve("admin-token")).trim());

    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443,8443");
    admin("tailnet", "add", "other", "--funnel", "on", "--ports", "443");
    reusableKey = newKey("--tailnet", "demo", "--reusable");

    DevCa.KeyAndChain nodeCert = DevCa.loadOrCreate(state).issue(List.of(WEB, FAULT), Duration.ofDays(1));
    backend = new StreamingTlsServer(TestTls.server(nodeCert.keyPem(), nodeCert.chainPem()));
    client = TestTls.clientTrusting(state.resolve("ca.pem"));
    web = startNode("web", "web", reusableKey, state.resolve("ca.pem"));
    fault = startNode("fault", "fault", reusableKey, state.resolve("ca.pem"));
    honestRequest(WEB);
    honestRequest(FAULT);
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {web, fault, server, backend}) {
      if (c != null) {
        c.close();
      }
    }
  }

  // ---------------------------------------------------------------- slowloris

  /**
   * 2,000 connections from 20 sources (100 each: inside the default burst, so all are admitted)
   * send a real ClientHello one byte per second. The frontend holds them at a small cost, keeps
   * serving honest clients, and closes each at the ClientHello deadline.
   */
  @Test
  @Order(1)
  void slowlorisIsHeldCheaplyAndClosedAtTheDeadlineWhileHonestClientsGetThrough() throws Exception {
    long pid = server.pid();
    String before = scrape();
    long rssBefore = rssKiB(pid);
    long heapBefore = heapAfterGcKiB(pid);
    byte[] hello = TestTls.clientHello(WEB);
    int count = 2_000;
    InetSocketAddress frontend = new InetSocketAddress("127.0.0.1", public443);

    List<SocketChannel> channels = new ArrayList<>();
    long[] openedAt = new long[count];
    long[] closedAt = new long[count];
    int[] sent = new int[count];
    AtomicInteger bytesReceived = new AtomicInteger();
    ExecutorService honest = Executors.newFixedThreadPool(2);
    try (Selector selector = Selector.open()) {
      for (int i = 0; i < count; i++) {
        SocketChannel channel = SocketChannel.open();
        channel.bind(new InetSocketAddress("127.0.0." + (2 + i / 100), 0));
        channel.connect(frontend);
        channel.configureBlocking(false);
        channel.register(selector, SelectionKey.OP_READ, i);
        channels.add(channel);
        openedAt[i] = System.nanoTime();
      }
      long allOpen = System.nanoTime();
      CompletableFuture<Integer> honestDone = CompletableFuture.supplyAsync(() -> honestRequestsFor(8_000), honest);

      long peakRss = rssKiB(pid);
      // Measured off this thread: a jcmd run takes a second or more, and the slow clients must keep
      // sending their byte a second meanwhile (a client silent for the idle timeout is closed as idle).
      CompletableFuture<long[]> held = null;
      int open = count;
      long deadline = allOpen + TimeUnit.MILLISECONDS.toNanos(HELLO_TIMEOUT_MILLIS + 15_000);
      long nextTick = System.nanoTime();
      ByteBuffer sink = ByteBuffer.allocate(1024);
      while (open > 0 && System.nanoTime() < deadline) {
        if (System.nanoTime() >= nextTick) {
          for (int i = 0; i < count; i++) {
            if (closedAt[i] == 0 && sent[i] < hello.length) {
              try {
                sent[i] += channels.get(i).write(ByteBuffer.wrap(hello, sent[i], 1));
              } catch (IOException closed) {
                closedAt[i] = System.nanoTime();
                open--;
              }
            }
          }
          nextTick += TimeUnit.SECONDS.toNanos(1);
          peakRss = Math.max(peakRss, rssKiB(pid));
          if (held == null && System.nanoTime() - allOpen > TimeUnit.SECONDS.toNanos(3)) {
            held = CompletableFuture.supplyAsync(() -> {
              try {
                return new long[] {(long) metric(scrape(), "funnel_frontend_connections_open"), heapAfterGcKiB(pid)};
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            }, honest);
          }
        }
        selector.select(200);
        for (SelectionKey key : selector.selectedKeys()) {
          int i = (Integer) key.attachment();
          sink.clear();
          int n;
          try {
            n = ((SocketChannel) key.channel()).read(sink);
          } catch (IOException reset) {
            n = -1;
          }
          if (n > 0) {
            bytesReceived.addAndGet(n);
          } else if (n < 0 && closedAt[i] == 0) {
            closedAt[i] = System.nanoTime();
            open--;
            key.cancel();
          }
        }
        selector.selectedKeys().clear();
      }
      int honestOk = honestDone.get(60, TimeUnit.SECONDS);
      assertThat(held).isNotNull();
      double openGauge = held.get(60, TimeUnit.SECONDS)[0];
      long heapHeld = held.get()[1];

      long maxHeldMillis = 0;
      for (int i = 0; i < count; i++) {
        maxHeldMillis = Math.max(maxHeldMillis, TimeUnit.NANOSECONDS.toMillis(closedAt[i] - openedAt[i]));
      }
      String after = scrape();
      figure("slowloris: " + count + " connections from 20 sources, 1 byte/s; server RSS " + rssBefore / 1024
          + " MiB before, peak " + peakRss / 1024 + " MiB; heap after GC " + heapBefore / 1024 + " MiB before, "
          + heapHeld / 1024 + " MiB holding them (-Xmx256m); open-connections gauge " + (long) openGauge
          + "; last closed " + maxHeldMillis + " ms after opening (deadline " + HELLO_TIMEOUT_MILLIS + " ms); "
          + honestOk + " honest requests meanwhile, all answered");

      assertThat(open).as("every slow connection closed by the server").isZero();
      assertThat(Arrays.stream(closedAt).allMatch(t -> t > 0)).isTrue();
      assertThat(bytesReceived.get()).as("closed without a word").isZero();
      assertThat(maxHeldMillis).as("none held past the deadline (plus slack)").isLessThan(HELLO_TIMEOUT_MILLIS + 8_000);
      assertThat(openGauge).as("all were admitted and held").isGreaterThanOrEqualTo(count);
      assertThat(honestOk).isGreaterThanOrEqualTo(3);
      assertThat(heapHeld).as("heap holding 2,000 slow connections, KiB").isLessThan(96 * 1024);
      assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "hello_timeout"))
          .isGreaterThanOrEqualTo(count);
      assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "rate_limited")).isZero();
    } finally {
      honest.shutdownNow();
      for (SocketChannel channel : channels) {
        channel.close();
      }
    }
    honestRequest(WEB);
  }

  // ---------------------------------------------------------------- flood

  /**
   * 20,000 connection attempts from one source as fast as 16 threads can make them: the source
   * is rate-limited (closed at accept, counted), honest clients get through meanwhile, and no file
   * descriptor is left behind.
   */
  @Test
  @Order(2)
  void aConnectionFloodIsRateLimitedAndLeaksNoDescriptors() throws Exception {
    long pid = server.pid();
    int fdsBefore = fdCount(pid);
    String before = scrape();
    int attempts = 20_000;
    AtomicInteger next = new AtomicInteger();
    AtomicInteger connected = new AtomicInteger();
    AtomicInteger failedToConnect = new AtomicInteger();
    AtomicBoolean flooding = new AtomicBoolean(true);
    InetSocketAddress frontend = new InetSocketAddress("127.0.0.1", public443);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    ExecutorService pool = Executors.newFixedThreadPool(17);
    CompletableFuture<Integer> honest = CompletableFuture.supplyAsync(() -> {
      int ok = 0;
      while (flooding.get()) {
        honestRequest(WEB);
        ok++;
      }
      return ok;
    }, pool);
    long started = System.nanoTime();
    List<CompletableFuture<Void>> flooders = new ArrayList<>();
    for (int t = 0; t < 16; t++) {
      flooders.add(CompletableFuture.runAsync(() -> {
        while (next.getAndIncrement() < attempts && System.nanoTime() < deadline) {
          try (Socket socket = new Socket()) {
            socket.setSoLinger(true, 0);   // no TIME_WAIT: the flood must not run out of local ports
            socket.bind(new InetSocketAddress("127.0.0.30", 0));
            socket.connect(frontend, 2_000);
            connected.incrementAndGet();
          } catch (IOException e) {
            failedToConnect.incrementAndGet();
          }
        }
      }, pool));
    }
    CompletableFuture.allOf(flooders.toArray(CompletableFuture[]::new)).get(90, TimeUnit.SECONDS);
    long floodMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    flooding.set(false);
    // The server may still be working through its accept backlog (longer on a loaded machine), its
    // bucket refilling meanwhile: until when did its refusals still grow?
    long workedNanos = System.nanoTime() - started;
    double refused = -1;
    for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); System.nanoTime() < until; ) {
      double now = delta(before, scrape(), "funnel_frontend_connections_total", "outcome", "rate_limited");
      if (now == refused) {
        break;
      }
      refused = now;
      workedNanos = System.nanoTime() - started;
      Thread.sleep(300);
    }
    long workedMillis = TimeUnit.NANOSECONDS.toMillis(workedNanos);
    int honestOk = honest.get(30, TimeUnit.SECONDS);
    pool.shutdown();

    int fdsAfter = fdCount(pid);
    long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (fdsAfter > fdsBefore + 5 && System.nanoTime() < settle) {
      Thread.sleep(100);
      fdsAfter = fdCount(pid);
    }
    String after = scrape();
    double limited = delta(before, after, "funnel_frontend_connections_total", "outcome", "rate_limited");
    double openNow = metric(after, "funnel_frontend_connections_open");
    figure("flood: " + (connected.get() + failedToConnect.get()) + " attempts from 127.0.0.30 in " + floodMillis
        + " ms (" + connected.get() + " connected, " + failedToConnect.get() + " not); " + (long) limited
        + " rate_limited (the server done after " + workedMillis + " ms); server fds " + fdsBefore + " before, " + fdsAfter + " after; " + honestOk
        + " honest requests meanwhile, all answered");

    assertThat(connected.get() + failedToConnect.get()).isGreaterThanOrEqualTo(attempts);
    assertThat(honestOk).isGreaterThanOrEqualTo(1);
    // The burst, and the refill while the flood lasted and the server worked through its accept
    // backlog after the client was done (measured above, plus a generous 2 s).
    long allowed = 100 + (long) Math.ceil(20.0 * (workedMillis + 2_000) / 1000);
    assertThat(limited).as("all but the burst and the refill were refused")
        .isGreaterThanOrEqualTo(connected.get() - allowed);
    assertThat(fdsAfter).as("no descriptor leaked").isLessThanOrEqualTo(fdsBefore + 5);
    assertThat(openNow).as("every admitted connection given back").isLessThanOrEqualTo(2);
    assertThat(get("/health").statusCode()).isEqualTo(200);
    honestRequest(WEB);
  }

  // ---------------------------------------------------------------- slow reader

  /**
   * A client reads a download at 64 KiB/s for 20 s while the node's server could push 200 MiB:
   * back-pressure holds the server back end to end, so the server's and the node's memory stay
   * flat and the backend gets only as far ahead as the socket buffers allow.
   */
  @Test
  @Order(3)
  void aSlowReaderMakesNobodyBuffer() throws Exception {
    long serverPid = server.pid();
    long nodePid = web.pid();
    long serverRssBefore = rssKiB(serverPid);
    long nodeRssBefore = rssKiB(nodePid);
    long serverPeak = serverRssBefore;
    long nodePeak = nodeRssBefore;
    long read = 0;
    try (SSLSocket socket = connect(WEB)) {
      socket.getOutputStream().write('S');
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      byte[] chunk = new byte[64 * 1024];
      long start = System.nanoTime();
      for (int second = 0; second < 20; second++) {
        int n = in.readNBytes(chunk, 0, chunk.length);
        assertThat(n).isEqualTo(chunk.length);
        read += n;
        serverPeak = Math.max(serverPeak, rssKiB(serverPid));
        nodePeak = Math.max(nodePeak, rssKiB(nodePid));
        long nextSecond = start + TimeUnit.SECONDS.toNanos(second + 1);
        long wait = nextSecond - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
      }
      long backendAhead = backend.streamed.get() - read;
      long serverHeap = heapAfterGcKiB(serverPid);
      long nodeHeap = heapAfterGcKiB(nodePid);
      figure("slow reader: read " + read / 1024 + " KiB at 64 KiB/s over 20 s; the backend got "
          + backendAhead / 1024 + " KiB ahead (socket buffers); server RSS " + serverRssBefore / 1024 + " → peak "
          + serverPeak / 1024 + " MiB, heap after GC " + serverHeap / 1024 + " MiB; node RSS " + nodeRssBefore / 1024
          + " → peak " + nodePeak / 1024 + " MiB, heap after GC " + nodeHeap / 1024 + " MiB (both -Xmx256m)");
      assertThat(backendAhead).as("bytes the backend wrote beyond what the client read")
          .isLessThan(48L * MIB);
      assertThat(backend.streamed.get()).isLessThan(StreamingTlsServer.STREAM_BYTES / 2);
      assertThat(serverPeak - serverRssBefore).as("server RSS growth, KiB").isLessThan(128 * 1024);
      assertThat(nodePeak - nodeRssBefore).as("node RSS growth, KiB").isLessThan(128 * 1024);
      assertThat(serverHeap).isLessThan(96 * 1024);
      assertThat(nodeHeap).isLessThan(96 * 1024);
    }
    honestRequest(WEB);
  }

  // ---------------------------------------------------------------- faults

  /** SIGKILL the node mid-stream: the client is closed within 2 s; a restarted node is routed again on its own. */
  @Test
  @Order(4)
  void aKilledNodeClosesItsClientsAndARestartedOneIsRoutedAgain() throws Exception {
    long closedAfter;
    int acceptedBefore = backend.accepted.get();
    try (SSLSocket socket = connect(FAULT)) {
      socket.getOutputStream().write('T');
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      assertThat(in.readNBytes(10 * 1024)).hasSize(10 * 1024);
      assertThat(backend.accepted.get()).isEqualTo(acceptedBefore + 1);
      AtomicLong killedAt = new AtomicLong();
      CompletableFuture<Long> closed = CompletableFuture.supplyAsync(() -> {
        byte[] chunk = new byte[64 * 1024];
        try {
          while (in.read(chunk) >= 0) {
            // keep draining what was in flight
          }
        } catch (IOException reset) {
          // a reset counts as closed
        }
        return System.nanoTime();
      });
      killedAt.set(System.nanoTime());
      fault.kill();
      closedAfter = TimeUnit.NANOSECONDS.toMillis(closed.get(30, TimeUnit.SECONDS) - killedAt.get());
    }
    long restartedAt = System.nanoTime();
    fault = startNode("fault-restarted", "fault", "fault", reusableKey, state.resolve("ca.pem"));
    long routedAgain = eventually(() -> honestRequest(FAULT));
    figure("kill -9: the client's connection closed " + closedAfter + " ms after SIGKILL of the node; the restarted"
        + " node was routed " + TimeUnit.NANOSECONDS.toMillis(routedAgain - restartedAt) + " ms after its start");
    assertThat(closedAfter).isLessThan(2_000);
  }

  /** The node's local server resets the connection: the public client is closed, not left hanging. */
  @Test
  @Order(5)
  void aLocalServerResetClosesThePublicClient() throws Exception {
    long closedAfter;
    try (SSLSocket socket = connect(WEB)) {
      long start = System.nanoTime();
      socket.getOutputStream().write('R');
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      try {
        while (in.read(new byte[8192]) >= 0) {
          // the 64 KiB before the reset, then the end
        }
      } catch (IOException reset) {
        // closed with a reset: also closed
      }
      closedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }
    figure("backend reset: the public client was closed " + closedAfter + " ms after asking for the reset");
    assertThat(closedAfter).isLessThan(5_000);
    honestRequest(WEB);
  }

  /**
   * The node's network drops (the process is stopped: it neither reads nor answers): the
   * frontend's idle timeout closes the public connection, and the node, resumed, serves again.
   */
  @Test
  @Order(6)
  void aNodeThatStopsReadingIsClosedByTheIdleTimeout() throws Exception {
    long closedAfter;
    try (SSLSocket socket = connect(FAULT)) {
      socket.getOutputStream().write('T');
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      assertThat(in.readNBytes(10 * 1024)).hasSize(10 * 1024);
      signal("STOP", fault.pid());
      long stoppedAt = System.nanoTime();
      try {
        byte[] chunk = new byte[64 * 1024];
        while (in.read(chunk) >= 0) {
          // drain what was in flight; then silence until the idle timeout
        }
      } catch (IOException reset) {
        // closed
      } finally {
        signal("CONT", fault.pid());
      }
      closedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
    }
    figure("dropped node: the public connection was closed " + closedAfter + " ms after the node stopped"
        + " (idle timeout " + IDLE_TIMEOUT_SECONDS + " s)");
    // Not before the idle timeout (nothing else may close it: the stream itself never ends), nor long after.
    assertThat(closedAfter).isBetween(TimeUnit.SECONDS.toMillis(IDLE_TIMEOUT_SECONDS) - 1_000,
        TimeUnit.SECONDS.toMillis(IDLE_TIMEOUT_SECONDS) + 10_000);
    eventually(() -> honestRequest(FAULT));
  }

  // ---------------------------------------------------------------- no open proxy

  /** Names and ports nobody may reach are refused at the frontend, before any offer or dial. */
  @Test
  @Order(7)
  void namesAndPortsNobodyFunnelsAreRefusedBeforeAnyDial() throws Exception {
    String before = scrape();
    int acceptedBefore = backend.accepted.get();
    Map<String, Integer> refusals = new HashMap<>();
    refusals.put("127.0.0.1", alertFor(public443, "127.0.0.1"));
    refusals.put("localhost", alertFor(public443, "localhost"));
    refusals.put("web.demo.example.com", alertFor(public443, "web.demo.example.com"));
    refusals.put("x." + WEB, alertFor(public443, "x." + WEB));
    refusals.put("web.other." + DOMAIN, alertFor(public443, "web.other." + DOMAIN));
    refusals.put("web.nosuch." + DOMAIN, alertFor(public443, "web.nosuch." + DOMAIN));
    refusals.put(WEB + " on 8443", alertFor(public8443, WEB));
    String after = scrape();
    figure("no open proxy: " + refusals);

    assertThat(refusals).containsEntry("127.0.0.1", 112).containsEntry("localhost", 112)
        .containsEntry("web.demo.example.com", 112).containsEntry("x." + WEB, 112)
        .containsEntry("web.other." + DOMAIN, 112).containsEntry("web.nosuch." + DOMAIN, 112)
        .containsEntry(WEB + " on 8443", 40);
    assertThat(backend.accepted.get()).as("no connection reached the node's server").isEqualTo(acceptedBefore);
    assertThat(delta(before, after, "funnel_gateway_offers_total")).as("no offer was made to any node").isZero();
    assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "bad_name")).isEqualTo(4);
    assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "no_route")).isEqualTo(2);
    assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "port_not_allowed")).isEqualTo(1);
    honestRequest(WEB);
  }

  /**
   * The ClientHello size cap acts on the length fields, before the bytes arrive: a hello claiming
   * 1 MiB, or a record longer than TLS allows, gets its alert at once; noise is closed unanswered.
   */
  @Test
  @Order(7)
  void oversizedAndMalformedHellosAreRefusedAtOnce() throws Exception {
    String before = scrape();
    // handshake record, TLS 1.0 record version, 16 KiB fragment; client_hello claiming 1 MiB
    byte[] huge = {0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x10, 0x00, 0x00};
    // a record longer than 2^14
    byte[] longRecord = {0x16, 0x03, 0x01, 0x40, 0x01};
    assertThat(answerTo(huge)).containsExactly(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40);
    assertThat(answerTo(longRecord)).containsExactly(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40);
    assertThat(answerTo("GET / HTTP/1.1\r\nHost: web\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).isEmpty();
    String after = scrape();
    figure("hello caps: a 1 MiB ClientHello and a 16 KiB+1 record refused with alert 40 from their headers; HTTP closed");
    assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "bad_hello")).isEqualTo(2);
    assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "not_tls")).isEqualTo(1);
    honestRequest(WEB);
  }

  /** Writes {@code bytes} (and nothing more), returns everything the frontend answers before closing. */
  private int[] answerTo(byte[] bytes) throws IOException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), public443)) {
      socket.setSoTimeout(5_000);   // far below the ClientHello deadline: the answer must not wait for it
      socket.getOutputStream().write(bytes);
      byte[] got = socket.getInputStream().readAllBytes();
      int[] unsigned = new int[got.length];
      for (int i = 0; i < got.length; i++) {
        unsigned[i] = got[i] & 0xff;
      }
      return unsigned;
    }
  }

  // ---------------------------------------------------------------- identity

  /**
   * Wrong, expired, revoked and replayed auth keys, and a node claiming another node's name, are
   * refused (the node exits non-zero); a gateway whose certificate the node's CA did not sign gets
   * no login at all.
   */
  @Test
  @Order(8)
  void nodesWithoutAValidIdentityAreRefused() throws Exception {
    String before = scrape();
    assertRefused(attempt("wrong-key", "intruder", "fnl-auth-" + "x".repeat(32), state.resolve("ca.pem")));

    String expiring = newKey("--tailnet", "demo", "--expiry", "1s");
    eventually(() -> assertThat(admin("key", "list").all()).contains("expired"));
    assertRefused(attempt("expired-key", "late", expiring, state.resolve("ca.pem")));

    String revoked = newKey("--tailnet", "demo");
    String revokedId = newestKeyId();
    admin("key", "rm", revokedId);
    assertRefused(attempt("revoked-key", "gone", revoked, state.resolve("ca.pem")));

    String oneOff = newKey("--tailnet", "demo");
    try (FunnelProcess first = startNode("one-off", "once", oneOff, state.resolve("ca.pem"))) {
      assertThat(first.isAlive()).isTrue();
    }
    assertRefused(attempt("replayed-key", "twice", oneOff, state.resolve("ca.pem")));

    FunnelProcess.Result impostor = attempt("name-taken", "web", reusableKey, state.resolve("ca.pem"));
    assertThat(impostor.exit()).isNotZero();
    assertThat(impostor.all()).contains("NAME_TAKEN");

    // A gateway certificate from a CA the node does not trust: the node never says a word to it.
    Path otherCa = DevCa.loadOrCreate(dir.resolve("other-ca")).caPemPath();
    String loginsBefore = scrape();
    // It stops at once (retrying could never succeed) with one line naming --ca.
    FunnelProcess.Result untrusting = attempt("untrusting", "web", reusableKey, otherCa);
    assertThat(untrusting.exit()).as(untrusting.all()).isEqualTo(1);
    assertThat(untrusting.all()).as("the node refused the gateway's certificate")
        .contains("is not signed by --ca " + otherCa).doesNotContain("ready");
    String after = scrape();
    double badKeys = delta(before, after, "funnel_gateway_logins_total", "result", "bad_key");
    figure("identity: wrong, expired, revoked and replayed keys refused (" + (long) badKeys + " bad_key logins), "
        + "a second 'web' refused (name_taken), a node not trusting the gateway's CA stopped without logging in");
    assertThat(badKeys).isEqualTo(4);
    assertThat(delta(before, after, "funnel_gateway_logins_total", "result", "name_taken")).isEqualTo(1);
    assertThat(delta(loginsBefore, after, "funnel_gateway_logins_total")).as("no login over an untrusted gateway")
        .isZero();
    honestRequest(WEB);
  }

  // ---------------------------------------------------------------- admin token guessing

  /** A source guessing the admin token gets 429 after 10 failures, even with the right token; others are served. */
  @Test
  @Order(9)
  void guessingTheAdminTokenIsRateLimitedPerSource() throws Exception {
    String token = Files.readString(state.resolve("admin-token")).trim();
    String before = scrape();
    for (int i = 0; i < 10; i++) {
      assertThat(rawAdminGet("127.0.0.40", "guess-" + i)).startsWith("HTTP/1.1 401");
    }
    String limited = rawAdminGet("127.0.0.40", "guess-10");
    assertThat(limited).startsWith("HTTP/1.1 429").contains("Retry-After:").contains("\"TOO_MANY_REQUESTS\"");
    assertThat(rawAdminGet("127.0.0.40", token)).as("the right token from a guesser").startsWith("HTTP/1.1 429");
    assertThat(rawAdminGet("127.0.0.1", token)).as("another source").startsWith("HTTP/1.1 200");
    assertThat(admin("tailnet", "list").exit()).isZero();
    String after = scrape();
    figure("admin: 10 wrong tokens then 429 (the right token too) from 127.0.0.40; 127.0.0.1 served");
    assertThat(delta(before, after, "funnel_admin_auth_refusals_total", "reason", "wrong_token")).isEqualTo(10);
    assertThat(delta(before, after, "funnel_admin_auth_refusals_total", "reason", "rate_limited")).isEqualTo(2);
  }

  /**
   * A scanner's refused connections are each counted, but the server's log gets at most the
   * frontend's budget of lines for them (LogLimit: 10 a second); the first line after the budget
   * was spent says how many were left out. The same for connections to the gateway's port that
   * finish TLS but send no login.
   */
  @Test
  @Order(9)
  void refusedConnectionsAreCountedEachButLoggedWithinABudget() throws Exception {
    String before = scrape();
    String refusal = "rejecting with unrecognized_name";
    long linesBefore = server.output().lines().filter(l -> l.contains(refusal)).count();
    long started = System.nanoTime();
    int count = 300;
    for (int i = 0; i < count; i++) {
      // Six sources, each within the per-source burst: refused for the name, not for the rate.
      assertThat(alertFrom("127.0.0." + (61 + i % 6), public443, "scan-" + i + ".example.com")).isEqualTo(112);
    }
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) + 1;
    Thread.sleep(1_100);   // a new window: the next refusal's line says how many the last one left out
    assertThat(alertFrom("127.0.0.67", public443, "scan-last.example.com")).isEqualTo(112);
    String after = scrape();
    long lines = server.output().lines().filter(l -> l.contains(refusal)).count() - linesBefore;
    figure("refused connections: " + (count + 1) + " counted, " + lines + " logged (" + seconds + " s)");
    assertThat(delta(before, after, "funnel_frontend_connections_total", "outcome", "bad_name")).isEqualTo(count + 1);
    assertThat(lines).isPositive().isLessThanOrEqualTo(10 * (seconds + 2));
    // The first line of a window after one that ran over its budget says how many were left out
    // (the sleep makes sure such a line comes after the last full window).
    assertThat(server.output().lines().filter(l -> l.contains(refusal)).skip(linesBefore))
        .anyMatch(l -> l.matches(".*; " + refusal + " \\(\\d+ more refused connections not logged\\)"));

    // The gateway's port too: anyone can dial it and finish TLS; a first frame that is no login is
    // rejected, one line each within the gateway's budget.
    String rejected = "first frame: ";
    long gatewayBefore = server.output().lines().filter(l -> l.contains(rejected)).count();
    started = System.nanoTime();
    int dials = 400;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      List<java.util.concurrent.Future<byte[]>> reads = new ArrayList<>();
      for (int i = 0; i < dials; i++) {
        reads.add(pool.submit(() -> {
          try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", gatewayPort)) {
            socket.setSoTimeout(20_000);
            socket.startHandshake();
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: scan\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return socket.getInputStream().readAllBytes();   // to the gateway's close (else a timeout)
          }
        }));
      }
      for (java.util.concurrent.Future<byte[]> read : reads) {
        // The gateway greets every connection with a Challenge frame, which may arrive before the
        // close (when its handshake completed before the garbage came): that frame and nothing else.
        byte[] got = read.get(60, TimeUnit.SECONDS);
        assertThat(got.length == 0 || isOneChallengeFrame(got))
            .as("closed by the gateway after at most its Challenge: " + new String(got, StandardCharsets.UTF_8)).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
    seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) + 1;
    long gatewayLines = server.output().lines().filter(l -> l.contains(rejected)).count() - gatewayBefore;
    figure("gateway: " + dials + " connections that sent no login rejected, " + gatewayLines + " logged (" + seconds
        + " s)");
    assertThat(gatewayLines).isPositive().isLessThanOrEqualTo(10 * (seconds + 2));
    honestRequest(WEB);
  }

  // ---------------------------------------------------------------- secrets

  /** The admin token and every auth key of the run appear in no server or node output. */
  @Test
  @Order(10)
  void noTokenOrKeyAppearsInAnyProcessLog() {
    assertThat(secrets).hasSizeGreaterThanOrEqualTo(5);
    int lines = 0;
    for (Object output : outputs) {
      String text = output instanceof FunnelProcess p ? p.output() : ((FunnelProcess.Result) output).all();
      lines += text.split("\n").length;
      for (String secret : secrets) {
        assertThat(text).as("a secret in the output of a process").doesNotContain(secret);
      }
    }
    figure("secrets: " + secrets.size() + " secrets (admin token, auth keys) in none of " + outputs.size()
        + " processes' " + lines + " output lines");
  }

  // ---------------------------------------------------------------- helpers

  /** True when {@code bytes} are exactly one control frame (length, JSON) holding a Challenge. */
  private static boolean isOneChallengeFrame(byte[] bytes) {
    io.vertx.core.buffer.Buffer buf = io.vertx.core.buffer.Buffer.buffer(bytes);
    return bytes.length > 4 && buf.getInt(0) == bytes.length - 4
        && ControlMessage.fromJson(new io.vertx.core.json.JsonObject(buf.slice(4, bytes.length)))
            instanceof ControlMessage.Challenge;
  }

  private FunnelProcess startNode(String name, String hostname, String key, Path ca) throws Exception {
    return startNode(name, name, hostname, key, ca);
  }

  /** A node process {@code name} with the state directory of {@code stateOf} (a restart keeps its node key). */
  private FunnelProcess startNode(String name, String stateOf, String hostname, String key, Path ca) throws Exception {
    FunnelProcess node = FunnelProcess.start(name, logs, JVM, nodeArgs(stateOf, hostname, key, ca));
    outputs.add(node);
    return node;
  }

  private String[] nodeArgs(String name, String hostname, String key, Path ca) {
    return new String[] {"node", "--server", "127.0.0.1:" + gatewayPort, "--authkey", key, "--hostname", hostname,
        "--ca", ca.toString(), "--state", dir.resolve("node-" + name).toString(),
        "--funnel", "443=tcp://127.0.0.1:" + backend.port()};
  }

  /** A node that should be refused: runs to its exit. */
  private FunnelProcess.Result attempt(String name, String hostname, String key, Path ca) throws Exception {
    FunnelProcess.Result result = FunnelProcess.run(logs, nodeArgs(name, hostname, key, ca));
    outputs.add(result);
    return result;
  }

  private static void assertRefused(FunnelProcess.Result result) {
    assertThat(result.exit()).as(result.all()).isNotZero();
    assertThat(result.all()).contains("BAD_KEY");
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }

  private String newKey(String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("key", "add"));
    all.addAll(List.of(args));
    String key = admin(all.toArray(String[]::new)).lastLine().trim();
    assertThat(key).startsWith("fnl-auth-");
    secrets.add(key);
    return key;
  }

  private String newestKeyId() throws Exception {
    String json = admin("key", "list", "--json").stdout().stream().reduce("", (a, b) -> a + b);
    Matcher ids = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
    String last = null;
    while (ids.find()) {
      last = ids.group(1);
    }
    assertThat(last).isNotNull();
    return last;
  }

  /**
   * A TLS client for {@code name} through the frontend. The TLS layer is told the name as its peer
   * host: the JDK keys resumable sessions by peer host and port, and a resumed session keeps the
   * SNI it was made with, so two names behind one address must not share a key.
   */
  private SSLSocket connect(String name) throws IOException {
    Socket tcp = new Socket(InetAddress.getLoopbackAddress(), public443);
    SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(tcp, name, public443, true);
    SSLParameters params = socket.getSSLParameters();
    params.setServerNames(List.of(new SNIHostName(name)));
    params.setEndpointIdentificationAlgorithm("HTTPS");
    params.setProtocols(new String[] {"TLSv1.3"});
    socket.setSSLParameters(params);
    socket.setSoTimeout(60_000);
    socket.startHandshake();
    return socket;
  }

  /** One honest request from 127.0.0.1: TLS with the node's own server, 4 KiB echoed byte for byte. */
  private void honestRequest(String name) {
    byte[] body = new byte[4096];
    new Random(name.hashCode()).nextBytes(body);
    try (SSLSocket socket = connect(name)) {
      socket.setSoTimeout(20_000);
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.write('E');
      out.writeInt(body.length);
      out.write(body);
      out.flush();
      assertThat(socket.getInputStream().readNBytes(body.length)).isEqualTo(body);
    } catch (IOException e) {
      throw new AssertionError("an honest request to " + name + " failed: " + e, e);
    }
  }

  /** Honest requests one after another for {@code millis}; how many succeeded (each one must). */
  private int honestRequestsFor(long millis) {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    int ok = 0;
    while (System.nanoTime() < end) {
      honestRequest(WEB);
      ok++;
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return ok;
  }

  /** Sends a real ClientHello for {@code name}; the alert description the frontend answers, or -1 for none. */
  private static int alertFor(int port, String name) throws Exception {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(TestTls.clientHello(name));
      InputStream in = socket.getInputStream();
      byte[] alert = in.readNBytes(7);
      if (alert.length != 7) {
        return -1;
      }
      assertThat(Arrays.copyOf(alert, 6)).isEqualTo(new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02});
      assertThat(in.read()).as("closed after the alert").isEqualTo(-1);
      return alert[6] & 0xff;
    }
  }

  /** {@link #alertFor} from {@code sourceIp} (a loopback address). */
  private static int alertFrom(String sourceIp, int port, String name) throws Exception {
    try (Socket socket = new Socket()) {
      socket.bind(new InetSocketAddress(sourceIp, 0));
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(TestTls.clientHello(name));
      InputStream in = socket.getInputStream();
      byte[] alert = in.readNBytes(7);
      return alert.length == 7 ? alert[6] & 0xff : -1;
    }
  }

  /** An admin API request from {@code sourceIp} with a bearer token, over a raw socket; the whole response. */
  private String rawAdminGet(String sourceIp, String bearer) throws IOException {
    try (Socket socket = new Socket()) {
      socket.setSoTimeout(10_000);
      socket.bind(new InetSocketAddress(sourceIp, 0));
      socket.connect(new InetSocketAddress("127.0.0.1", adminPort), 10_000);
      socket.getOutputStream().write(("GET /v1/tailnets HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer " + bearer
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + path))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private String scrape() throws Exception {
    return get("/metrics").body();
  }

  /** The sum of every series of {@code name} whose labels include {@code labelPairs} (k, v, k, v…). */
  static double metric(String scrape, String name, String... labelPairs) {
    double sum = 0;
    for (String line : scrape.split("\n")) {
      if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
        continue;
      }
      boolean matches = true;
      for (int i = 0; i < labelPairs.length; i += 2) {
        matches &= line.contains(labelPairs[i] + "=\"" + labelPairs[i + 1] + "\"");
      }
      if (matches) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  static double delta(String before, String after, String name, String... labelPairs) {
    return metric(after, name, labelPairs) - metric(before, name, labelPairs);
  }

  static long rssKiB(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D+", ""));
      }
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  static int fdCount(long pid) throws IOException {
    try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return (int) fds.count();
    }
  }

  /** Runs a full GC in {@code pid} (jcmd) and returns the heap it still uses, in KiB: what it really holds. */
  static long heapAfterGcKiB(long pid) throws Exception {
    String jcmd = Path.of(FunnelProcess.JAVA).resolveSibling("jcmd").toString();   // the JDK running the tests
    Exec.run(List.of(jcmd, Long.toString(pid), "GC.run"));
    Exec info = Exec.run(List.of(jcmd, Long.toString(pid), "GC.heap_info"));
    Matcher used = Pattern.compile("used (\\d+)K").matcher(info.output());
    assertThat(used.find()).as(info.output()).isTrue();
    return Long.parseLong(used.group(1));
  }

  static void signal(String signal, long pid) throws Exception {
    assertThat(Exec.run(List.of("kill", "-" + signal, Long.toString(pid))).exit()).isZero();
  }

  interface Check {
    void run() throws Exception;
  }

  /** Retries {@code check} until it passes (bounded: 30 s); returns when it passed (nanoTime). */
  static long eventually(Check check) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        check.run();
        return System.nanoTime();
      } catch (Exception | AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  private void figure(String line) {
    System.out.println("hostile: " + line);
    try {
      Files.writeString(logs.resolve("figures.txt"), line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
  }
}
