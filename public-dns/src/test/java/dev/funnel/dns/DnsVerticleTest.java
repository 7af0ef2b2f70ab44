package dev.funnel.dns;

import static dev.funnel.dns.Fixtures.DOMAIN;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsChallenge;
import dev.funnel.common.bus.Messages;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionWithdrawn;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * The verticle on 127.0.0.1 and an ephemeral port, asked by dnsjava's resolver over UDP and TCP,
 * with a stand-in registry on the event bus.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DnsVerticleTest {

  private static final String WEB = "web.demo." + DOMAIN;

  private Vertx vertx;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final Map<String, NameStatus> registry = new ConcurrentHashMap<>();
  private final AtomicInteger lookups = new AtomicInteger();
  private int port;
  private io.vertx.core.eventbus.MessageConsumer<NameQuery> stub;

  private void start(DnsOptions options) {
    DnsVerticle verticle = new DnsVerticle(options.setHost("127.0.0.1").setPort(0), meters);
    vertx.deployVerticle(verticle).await();
    port = verticle.actualPort();
    assertThat(port).isPositive();
  }

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    Messages.registerCodecs(vertx.eventBus());
    registry.put(WEB, new NameStatus(WEB, NameStatus.Kind.ROUTABLE, "gw-eu"));
    stub = vertx.eventBus().<NameQuery>consumer(Addresses.REGISTRY_NAME, m -> {
      lookups.incrementAndGet();
      m.reply(registry.getOrDefault(m.body().name(), NameStatus.none(m.body().name())));
    });
    stub.completion().await();
  }

  @AfterEach
  void tearDown() {
    // VertxExtension closes vertx (and so the verticle's sockets).
  }

  private SimpleResolver resolver(boolean tcp) throws Exception {
    SimpleResolver r = new SimpleResolver(InetAddress.getLoopbackAddress());
    r.setPort(port);
    r.setTCP(tcp);
    r.setTimeout(Duration.ofSeconds(5));
    return r;
  }

  private Message ask(String name, int type, boolean tcp) throws Exception {
    Message query = Message.newQuery(Record.newRecord(Name.fromConstantString(name + "."), type, DClass.IN));
    return resolver(tcp).send(query);
  }

  private static List<String> data(Message m) {
    return m.getSection(Section.ANSWER).stream().map(Record::rdataToString).toList();
  }

  /** Replies sent over {@code transport} with {@code rcode}, every query type summed. */
  private double count(String transport, String rcode) {
    return meters.get("funnel.dns.queries").tag("transport", transport).tag("rcode", rcode).counters().stream()
        .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
  }

  private double count(String transport, String type, String rcode) {
    return meters.get("funnel.dns.queries").tag("transport", transport).tag("type", type).tag("rcode", rcode)
        .counter().count();
  }

  private double dropped(String transport, String reason) {
    return meters.get("funnel.dns.dropped").tag("transport", transport).tag("reason", reason).counter().count();
  }

  private double truncated(String reason) {
    return meters.get("funnel.dns.truncated").tag("reason", reason).counter().count();
  }

  @Test
  void answersOverUdpAndTcpOnOnePort() throws Exception {
    start(Fixtures.options());
    for (boolean tcp : new boolean[] {false, true}) {
      Message a = ask(WEB, Type.A, tcp);
      assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
      assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
      assertThat(data(a)).containsExactlyInAnyOrder("192.0.2.1", "192.0.2.2");
      assertThat(ask("nope.demo." + DOMAIN, Type.A, tcp).getRcode()).isEqualTo(Rcode.NXDOMAIN);
      assertThat(ask("example.com", Type.A, tcp).getRcode()).isEqualTo(Rcode.REFUSED);
    }
    for (String transport : List.of("udp", "tcp")) {
      assertThat(count(transport, "A", "NOERROR")).isEqualTo(1);
      assertThat(count(transport, "A", "NXDOMAIN")).isEqualTo(1);
      assertThat(count(transport, "A", "REFUSED")).isEqualTo(1);
      assertThat(count(transport, "NOERROR") + count(transport, "NXDOMAIN") + count(transport, "REFUSED"))
          .as("nothing else counted over " + transport).isEqualTo(3);
    }
    assertThat(lookups.get()).as("web.demo cached after the first lookup").isEqualTo(2);
  }

  @Test
  void aQueryOfEachTypeIsCountedWithItsTypeAndTheRcodeSent() throws Exception {
    start(Fixtures.options());
    // The apex holds SOA, NS and CAA; A, AAAA, HTTPS and TXT there are NODATA (NOERROR); ANY gets one RRset.
    for (String type : List.of("A", "AAAA", "HTTPS", "TXT", "CAA", "SOA", "NS", "ANY", "MX")) {
      assertThat(ask(DOMAIN, Type.value(type), false).getRcode()).as(type).isEqualTo(Rcode.NOERROR);
      String label = type.equals("MX") ? "other" : type;
      assertThat(count("udp", label, "NOERROR")).as(type).isEqualTo(1);
    }
    assertThat(ask("nope." + DOMAIN, Type.HTTPS, false).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    assertThat(count("udp", "HTTPS", "NXDOMAIN")).isEqualTo(1);
    assertThat(ask("example.com", Type.TXT, true).getRcode()).isEqualTo(Rcode.REFUSED);
    assertThat(count("tcp", "TXT", "REFUSED")).isEqualTo(1);
    // A NOTIFY (another opcode) is NOTIMP; EDNS version 1 is BADVERS (extended RCODE 16).
    Message notify = Message.newQuery(Record.newRecord(Name.fromConstantString(DOMAIN + "."), Type.SOA, DClass.IN));
    notify.getHeader().setOpcode(org.xbill.DNS.Opcode.NOTIFY);
    assertThat(resolver(false).send(notify).getRcode()).isEqualTo(Rcode.NOTIMP);
    assertThat(count("udp", "SOA", "NOTIMP")).isEqualTo(1);
    Message v1 = Message.newQuery(Record.newRecord(Name.fromConstantString(DOMAIN + "."), Type.A, DClass.IN));
    v1.addRecord(new org.xbill.DNS.OPTRecord(1232, 0, 1), Section.ADDITIONAL);
    try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      socket.setSoTimeout(5000);
      byte[] wire = v1.toWire();
      socket.send(new DatagramPacket(wire, wire.length, InetAddress.getLoopbackAddress(), port));
      byte[] buf = new byte[1500];
      DatagramPacket reply = new DatagramPacket(buf, buf.length);
      socket.receive(reply);
      assertThat(new Message(java.util.Arrays.copyOf(buf, reply.getLength())).getRcode()).isEqualTo(Rcode.BADVERS);
    }
    assertThat(count("udp", "A", "BADVERS")).isEqualTo(1);
    assertThat(count("udp", "NOERROR") + count("udp", "NXDOMAIN") + count("udp", "NOTIMP") + count("udp", "BADVERS"))
        .as("each query counted once").isEqualTo(12);
  }

  @Test
  void aRouteChangeDropsTheCachedNameAndMovesTheSerial() throws Exception {
    start(Fixtures.options());
    long serial = ((SOARecord) ask(DOMAIN, Type.SOA, false).getSection(Section.ANSWER).get(0)).getSerial();
    assertThat(data(ask(WEB, Type.A, false))).isNotEmpty();

    registry.put(WEB, NameStatus.none(WEB));
    vertx.eventBus().publish(Addresses.SESSION_WITHDRAWN, new SessionWithdrawn("n1", WEB, "gw-eu", 1));
    // The publication reaches the verticle on its own; ask until it has (bounded).
    assertThat(eventually(() -> ask(WEB, Type.A, false).getRcode() == Rcode.NXDOMAIN)).isTrue();
    long after = ((SOARecord) ask(DOMAIN, Type.SOA, false).getSection(Section.ANSWER).get(0)).getSerial();
    assertThat(after).isGreaterThan(serial);

    registry.put(WEB, new NameStatus(WEB, NameStatus.Kind.ROUTABLE, "gw-us"));
    vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
    assertThat(eventually(() -> data(ask(WEB, Type.A, false)).equals(List.of("198.51.100.1")))).isTrue();
  }

  interface Check {
    boolean holds() throws Exception;
  }

  /** True once {@code check} holds, asking every 20 ms for at most 5 s. */
  private static boolean eventually(Check check) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (check.holds()) {
        return true;
      }
      Thread.sleep(20);
    }
    return check.holds();
  }

  @Test
  void noRegistryIsServfail() throws Exception {
    start(Fixtures.options().setLookupTimeoutMillis(500));
    registry.clear();
    stub.unregister().await();
    assertThat(ask("gone.demo." + DOMAIN, Type.A, false).getRcode()).isEqualTo(Rcode.SERVFAIL);
    assertThat(count("udp", "A", "SERVFAIL")).isEqualTo(1);
  }

  @Test
  void anAnswerTooLargeForUdpIsTruncatedAndTheResolverFallsBackToTcp() throws Exception {
    List<String> many = new ArrayList<>();
    for (int i = 1; i <= 16; i++) {
      many.add("2001:db8::" + Integer.toHexString(i));
    }
    start(Fixtures.options().setFrontends(Map.of("eu", many)));
    String longName = "a-node-name-long-enough-to-need-more-than-512-bytes.demo." + DOMAIN;
    registry.put(longName, new NameStatus(longName, NameStatus.Kind.ROUTABLE, "gw-eu"));
    // Without EDNS the limit is 512 bytes: 16 AAAA (28 bytes each) and this question do not fit.
    SimpleResolver resolver = resolver(false);
    resolver.setEDNS(-1);
    Message m = resolver.send(Message.newQuery(Record.newRecord(Name.fromConstantString(longName + "."), Type.AAAA, DClass.IN)));
    assertThat(m.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(data(m)).hasSize(16);
    assertThat(truncated("too_large")).isEqualTo(1);
    assertThat(truncated("rate_limited")).isZero();
    assertThat(count("udp", "AAAA", "NOERROR")).as("the truncated reply is a NOERROR reply").isEqualTo(1);
    assertThat(count("tcp", "AAAA", "NOERROR")).isEqualTo(1);
  }

  @Test
  void aMalformedQueryIsDroppedAndCounted() throws Exception {
    start(Fixtures.options());
    try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      socket.setSoTimeout(500);
      byte[] junk = "not a dns query at all".getBytes();
      socket.send(new DatagramPacket(junk, junk.length, InetAddress.getLoopbackAddress(), port));
      byte[] buf = new byte[1500];
      boolean answered;
      try {
        socket.receive(new DatagramPacket(buf, buf.length));
        answered = true;
      } catch (SocketTimeoutException e) {
        answered = false;
      }
      assertThat(answered).as("no reply to junk").isFalse();
    }
    // The drop is counted before any later query is answered (one event loop, in order).
    assertThat(ask(WEB, Type.A, false).getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(dropped("udp", "malformed")).isEqualTo(1);
    assertThat(count("udp", "NOERROR")).as("only the good query is a reply").isEqualTo(1);
  }

  @Test
  void overTheRateASourceIsDroppedOrSlippedATruncatedEmptyAnswer() throws Exception {
    start(Fixtures.options().setRateLimit(1).setRateBurst(3).setRateSlip(2));
    byte[] query = Fixtures.queryWire(WEB, Type.A, DClass.IN, 1232);
    int sent = 12;
    int answered = 0;
    int slipped = 0;
    try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      for (int i = 0; i < sent; i++) {
        socket.send(new DatagramPacket(query, query.length, InetAddress.getLoopbackAddress(), port));
      }
      // Every query ends as a reply or a counted drop: read replies until all are accounted for
      // (a starved machine may answer the first one seconds late), then 300 ms more for any extra.
      socket.setSoTimeout(300);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      byte[] buf = new byte[1500];
      while (true) {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
          socket.receive(p);
        } catch (SocketTimeoutException e) {
          if (answered + slipped + dropped("udp", "rate_limited") >= sent || System.nanoTime() > deadline) {
            break;
          }
          continue;
        }
        Message m = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
        if (m.getHeader().getFlag(Flags.TC)) {
          assertThat(m.getSection(Section.ANSWER)).isEmpty();
          slipped++;
        } else {
          answered++;
        }
      }
    }
    double drops = dropped("udp", "rate_limited");
    double slips = truncated("rate_limited");
    // Exact counts are RateLimiterTest's (its clock is passed in); here: the burst got through, the
    // rest was limited, and some of it slipped. Every query is counted once: a reply or a drop.
    assertThat(answered).as("the burst").isGreaterThanOrEqualTo(3).isLessThan(sent);
    assertThat(slipped).isPositive();
    assertThat(slips).isEqualTo(slipped);
    assertThat(count("udp", "A", "NOERROR")).as("answers and slips are replies").isEqualTo(answered + slipped);
    assertThat(answered + slipped + drops).isEqualTo(sent);
    assertThat(drops).isPositive();
    // TCP is not limited: a real client behind the prefix gets through.
    assertThat(data(ask(WEB, Type.A, true))).isNotEmpty();
  }

  @Test
  void tcpCarriesPipelinedQueriesAndClosesAConnectionThatBuffersTooMuch() throws Exception {
    start(Fixtures.options().setTcpMaxBuffer(600));
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      byte[] q1 = Fixtures.queryWire(WEB, Type.A, DClass.IN, -1);
      byte[] q2 = Fixtures.queryWire(DOMAIN, Type.SOA, DClass.IN, -1);
      java.io.ByteArrayOutputStream both = new java.io.ByteArrayOutputStream();
      for (byte[] q : new byte[][] {q1, q2}) {
        both.write(q.length >> 8);
        both.write(q.length);
        both.write(q);
      }
      // Both queries in one write, split in the middle of the second's length prefix.
      byte[] bytes = both.toByteArray();
      out.write(bytes, 0, q1.length + 3);
      out.flush();
      out.write(bytes, q1.length + 3, bytes.length - q1.length - 3);
      out.flush();
      InputStream in = socket.getInputStream();
      List<Integer> types = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        int length = (in.read() << 8) | in.read();
        Message m = new Message(in.readNBytes(length));
        types.add(m.getQuestion().getType());
      }
      assertThat(types).containsExactlyInAnyOrder(Type.A, Type.SOA);
    }
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(5000);
      // A length prefix promising more than the buffer may hold, then the bytes: closed, not buffered.
      socket.getOutputStream().write(new byte[] {(byte) 0xFF, (byte) 0xFF});
      socket.getOutputStream().write(new byte[700]);
      socket.getOutputStream().flush();
      assertThat(socket.getInputStream().read()).as("closed").isEqualTo(-1);
    }
  }

  @Test
  void anIdleTcpConnectionIsClosed() throws Exception {
    start(Fixtures.options().setTcpIdleMillis(300));
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(10_000);
      assertThat(socket.getInputStream().read()).as("closed by the server").isEqualTo(-1);
    }
  }

  @Test
  void acmeChallengeValuesComeAndGoOverTheEventBus() throws Exception {
    start(Fixtures.options());
    String name = "_acme-challenge." + WEB;
    assertThat(ask(name, Type.TXT, false).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    vertx.eventBus().request(Addresses.DNS_CHALLENGE, new DnsChallenge(WEB, "abc-123", true)).await();
    Message m = ask(name, Type.TXT, false);
    assertThat(data(m)).containsExactly("\"abc-123\"");
    vertx.eventBus().request(Addresses.DNS_CHALLENGE, new DnsChallenge(WEB, "abc-123", false)).await();
    assertThat(ask(name, Type.TXT, false).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> vertx.eventBus()
            .request(Addresses.DNS_CHALLENGE, new DnsChallenge("web.example.com", "x", true)).await())
        .as("a name outside the zone").isInstanceOf(io.vertx.core.eventbus.ReplyException.class);
  }
}
