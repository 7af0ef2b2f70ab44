package dev.funnel.dns;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsChallenge;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.ops.Meters;
import dev.funnel.dns.Answers.Encoded;
import dev.funnel.dns.Answers.Response;
import dev.funnel.dns.DnsQuery.Malformed;
import dev.funnel.dns.DnsQuery.Query;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramPacket;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.Address;
import org.xbill.DNS.Rcode;

/**
 * Authoritative DNS for the base domain over UDP and TCP (RFC 1035, RFC 7766), one verticle: parse
 * ({@link DnsQuery}), look up what the registry says about the name ({@link Addresses#REGISTRY_NAME},
 * cached, dropped on route changes), decide ({@link Answers}), send. Thin I/O around pure parts.
 *
 * <p>UDP answers are rate limited per source prefix ({@link RateLimiter}) and never larger than the
 * client's advertised EDNS size, capped at {@link DnsOptions#getMaxUdpPayload()} (512 without EDNS);
 * a larger one goes out empty with TC set. TCP carries 2-byte length-prefixed messages with a bounded
 * buffer, a bound on queries waiting per connection, a connection cap and an idle timeout. A
 * malformed query is dropped and counted (over TCP its connection is closed).
 *
 * <p>The SOA serial starts at the clock's seconds and rises on every route change and challenge
 * change. {@code _acme-challenge} values come from {@link Addresses#DNS_CHALLENGE}.
 */
public final class DnsVerticle extends VerticleBase {

  private static final Logger LOG = System.getLogger(DnsVerticle.class.getName());
  /** Tries to find an ephemeral port free for both UDP and TCP (listen on port 0). */
  static final int EPHEMERAL_TRIES = 8;

  private final DnsOptions options;
  private final MeterRegistry meterRegistry;
  private final Zone zone;
  private final RateLimiter limiter;
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private final Map<String, Cached> cache = new HashMap<>();
  private final Map<String, Future<NameStatus>> inFlight = new HashMap<>();
  private Map<String, List<String>> challenges = Map.of();
  private long serial = System.currentTimeMillis() / 1000;
  /** Rises on every invalidation, so a lookup that raced one is not cached. */
  private long generation;
  private DnsMetrics metrics;
  private DatagramSocket udp;
  private NetServer tcp;
  private int tcpOpen;
  private int port = -1;
  private dev.funnel.common.ops.StatsPublisher stats;

  private record Cached(NameStatus status, long expiresAtNanos) {
  }

  /** Throws {@link IllegalArgumentException} when the options do not describe a zone. */
  public DnsVerticle(DnsOptions options) {
    this(options, null);
  }

  /** As {@link #DnsVerticle(DnsOptions)}, counting on {@code registry} (null: Vert.x's default one). */
  public DnsVerticle(DnsOptions options, MeterRegistry registry) {
    this.meterRegistry = registry;
    this.options = options;
    this.zone = Zone.of(options);
    this.limiter = new RateLimiter(options.getRateLimit(), options.getRateBurst(), options.getRateSlip(),
        options.getRateMaxSources());
  }

  @Override
  public Future<?> start() {
    metrics = new DnsMetrics(meterRegistry());
    var bus = vertx.eventBus();
    consumers.add(bus.<Object>consumer(Addresses.ROUTES_CHANGED, m -> {
      String host = m.body() instanceof RouteChanged rc ? rc.host()
          : m.body() instanceof JsonObject json ? RouteChanged.fromJson(json).host() : null;
      invalidate(host);
    }));
    consumers.add(bus.<Object>consumer(Addresses.SESSION_WITHDRAWN, m -> {
      SessionWithdrawn w = m.body() instanceof SessionWithdrawn sw ? sw
          : m.body() instanceof JsonObject json ? SessionWithdrawn.fromJson(json) : null;
      invalidate(w == null ? null : w.fqdn());
    }));
    consumers.add(bus.<Object>consumer(Addresses.DNS_CHALLENGE, this::onChallenge));
    consumers.add(bus.<Object>consumer(Addresses.DNS_LOOKUP, this::onLookup));
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .compose(v -> bind(options.getPort(), options.getPort() == 0 ? EPHEMERAL_TRIES : 1))
        .onSuccess(v -> stats = dev.funnel.common.ops.StatsPublisher.start(vertx, () -> new dev.funnel.common.bus.MemberStats(
            "dns@" + options.getHost() + ":" + port, "dns", true, List.of(), 0, 0, Map.of(), 0)))
        .onSuccess(v -> LOG.log(Level.INFO, "public DNS for {0} on {1}:{2,number,#} (udp, tcp); NS {3}; frontends {4}",
            zone.origin(), options.getHost(), port, zone.nameservers(), describe(zone.frontends())));
  }

  @Override
  public Future<?> stop() {
    if (stats != null) {
      stats.stop();
    }
    List<Future<?>> closing = new ArrayList<>();
    consumers.forEach(c -> closing.add(c.unregister()));
    if (udp != null) {
      closing.add(udp.close());
    }
    if (tcp != null) {
      closing.add(tcp.close());
    }
    return Future.join(closing);
  }

  /**
   * {@link Addresses#DNS_LOOKUP} ({@code funnel status}): what this server answers for an A query of
   * the name, asked through the same path as a query from the network (counted as a TCP query), and
   * where it listens.
   */
  private void onLookup(io.vertx.core.eventbus.Message<Object> message) {
    String name = message.body() instanceof dev.funnel.common.bus.NameQuery q ? q.name()
        : message.body() instanceof JsonObject json ? json.getString("name") : null;
    String listen = options.getHost() + ":" + port;
    byte[] wire;
    try {
      wire = org.xbill.DNS.Message.newQuery(org.xbill.DNS.Record.newRecord(
          org.xbill.DNS.Name.fromString(name + "."), org.xbill.DNS.Type.A, org.xbill.DNS.DClass.IN)).toWire();
    } catch (Exception e) {
      message.reply(new dev.funnel.common.bus.DnsLookup(listen, "FORMERR", List.of()));
      return;
    }
    answer(wire, DnsMetrics.TCP, null).onComplete(ar -> {
      if (ar.failed() || ar.result() == null) {
        message.reply(new dev.funnel.common.bus.DnsLookup(listen, "SERVFAIL", List.of()));
        return;
      }
      try {
        org.xbill.DNS.Message response = new org.xbill.DNS.Message(ar.result());
        List<String> addresses = new ArrayList<>();
        for (org.xbill.DNS.Record r : response.getSection(org.xbill.DNS.Section.ANSWER)) {
          if (r instanceof org.xbill.DNS.ARecord a) {
            addresses.add(a.getAddress().getHostAddress());
          } else if (r instanceof org.xbill.DNS.AAAARecord aaaa) {
            addresses.add(aaaa.getAddress().getHostAddress());
          }
        }
        message.reply(new dev.funnel.common.bus.DnsLookup(listen,
            org.xbill.DNS.Rcode.string(response.getRcode()), addresses));
      } catch (java.io.IOException e) {
        message.reply(new dev.funnel.common.bus.DnsLookup(listen, "SERVFAIL", List.of()));
      }
    });
  }

  /** The port UDP and TCP are bound to (after start). */
  public int actualPort() {
    return port;
  }

  private MeterRegistry meterRegistry() {
    return meterRegistry != null ? meterRegistry : Meters.registry();
  }

  // ---------------------------------------------------------------- listeners

  /** UDP first, then TCP on the same port; with port 0, another ephemeral port when TCP's is taken. */
  private Future<Void> bind(int wanted, int triesLeft) {
    DatagramSocketOptions udpOptions = new DatagramSocketOptions().setIpV6(options.getHost().contains(":"));
    DatagramSocket socket = vertx.createDatagramSocket(udpOptions);
    socket.handler(this::onPacket);
    return socket.listen(wanted, options.getHost()).compose(bound -> {
      int p = bound.localAddress().port();
      NetServer server = vertx.createNetServer(new NetServerOptions()
          .setIdleTimeout((int) options.getTcpIdleMillis())
          .setIdleTimeoutUnit(TimeUnit.MILLISECONDS));
      server.connectHandler(this::onTcp);
      return server.listen(p, options.getHost()).<Void>map(s -> {
        udp = bound;
        tcp = s;
        port = p;
        return null;
      }).recover(err -> {
        Future<Void> closed = bound.close();
        if (wanted == 0 && triesLeft > 1) {
          return closed.transform(x -> bind(0, triesLeft - 1));
        }
        return closed.transform(x -> Future.failedFuture(err));
      });
    });
  }

  private void onPacket(DatagramPacket packet) {
    SocketAddress sender = packet.sender();
    InetAddress source = address(sender);
    answer(packet.data().getBytes(), DnsMetrics.UDP, source).onSuccess(wire -> {
      if (wire != null) {
        udp.send(Buffer.buffer(wire), sender.port(), sender.host());
      }
    });
  }

  private void onTcp(NetSocket socket) {
    if (tcpOpen >= options.getTcpMaxConnections()) {
      LOG.log(Level.DEBUG, "dns tcp from {0}: {1} connections open; closing", socket.remoteAddress(), tcpOpen);
      socket.close();
      return;
    }
    tcpOpen++;
    socket.closeHandler(v -> tcpOpen--);
    InetAddress source = address(socket.remoteAddress());
    Buffer[] pending = {Buffer.buffer()};
    int[] waiting = {0};
    socket.handler(chunk -> {
      Buffer buffer = pending[0].appendBuffer(chunk);
      if (buffer.length() > options.getTcpMaxBuffer()) {
        LOG.log(Level.DEBUG, "dns tcp from {0}: more than {1} bytes buffered; closing", socket.remoteAddress(),
            options.getTcpMaxBuffer());
        socket.close();
        return;
      }
      int at = 0;
      while (buffer.length() - at >= 2) {
        int length = buffer.getUnsignedShort(at);
        if (buffer.length() - at - 2 < length) {
          break;
        }
        byte[] message = buffer.getBytes(at + 2, at + 2 + length);
        at += 2 + length;
        if (waiting[0] >= options.getTcpMaxPending()) {
          LOG.log(Level.DEBUG, "dns tcp from {0}: {1} queries waiting; closing", socket.remoteAddress(), waiting[0]);
          socket.close();
          return;
        }
        waiting[0]++;
        answer(message, DnsMetrics.TCP, source).onComplete(ar -> {
          waiting[0]--;
          byte[] wire = ar.succeeded() ? ar.result() : null;
          if (wire == null) {
            socket.close();
            return;
          }
          socket.write(Buffer.buffer(wire.length + 2).appendUnsignedShort(wire.length).appendBytes(wire));
          if (socket.writeQueueFull()) {
            socket.pause();
            socket.drainHandler(v -> socket.resume());
          }
        });
      }
      pending[0] = at == 0 ? buffer : buffer.getBuffer(at, buffer.length());
    });
  }

  // ---------------------------------------------------------------- answering

  /** The response's bytes, or null to send nothing (malformed or rate limited). Counts the query. */
  Future<byte[]> answer(byte[] wire, String transport, InetAddress source) {
    DnsQuery.Result parsed = DnsQuery.parse(wire);
    if (parsed instanceof Malformed malformed) {
      metrics.dropped(transport, DnsMetrics.Dropped.MALFORMED);
      LOG.log(Level.DEBUG, "dns {0} query from {1}: {2}; dropping", transport, source, malformed.reason());
      return Future.succeededFuture(null);
    }
    Query query = (Query) parsed;
    boolean udpQuery = DnsMetrics.UDP.equals(transport);
    if (udpQuery && source != null) {
      switch (limiter.check(source, System.nanoTime())) {
        case DROP -> {
          metrics.dropped(transport, DnsMetrics.Dropped.RATE_LIMITED);
          return Future.succeededFuture(null);
        }
        case SLIP -> {
          metrics.answered(transport, query.type(), Rcode.NOERROR);
          metrics.truncated(DnsMetrics.Truncated.RATE_LIMITED);
          return Future.succeededFuture(Answers.slip(query, zone));
        }
        default -> {
        }
      }
    }
    Map<String, List<String>> challengesNow = challenges;
    return lookup(Answers.lookups(query, zone, challengesNow)).map(names -> {
      ZoneSnapshot snapshot = new ZoneSnapshot(zone, serial, names, challengesNow);
      Response response = Answers.decide(query, snapshot);
      int limit = udpQuery ? Answers.udpLimit(query, zone) : DnsQuery.MAX_MESSAGE;
      Encoded encoded = Answers.encode(query, response, limit, zone);
      metrics.answered(transport, query.type(), response.rcode());
      if (encoded.truncated()) {
        metrics.truncated(DnsMetrics.Truncated.TOO_LARGE);
      }
      return encoded.wire();
    });
  }

  /** What the registry says about each name; a name it did not answer for is left out (SERVFAIL). */
  private Future<Map<String, NameStatus>> lookup(List<String> names) {
    if (names.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    List<Future<NameStatus>> each = names.stream().map(this::lookup).toList();
    return Future.join(each).transform(ar -> {
      Map<String, NameStatus> found = new LinkedHashMap<>();
      for (int i = 0; i < names.size(); i++) {
        if (each.get(i).succeeded()) {
          found.put(names.get(i), each.get(i).result());
        }
      }
      return Future.succeededFuture(found);
    });
  }

  private Future<NameStatus> lookup(String name) {
    Cached cached = cache.get(name);
    long now = System.nanoTime();
    if (cached != null && now - cached.expiresAtNanos() < 0) {
      return Future.succeededFuture(cached.status());
    }
    Future<NameStatus> running = inFlight.get(name);
    if (running != null) {
      return running;
    }
    long asked = generation;
    Promise<NameStatus> promise = Promise.promise();
    inFlight.put(name, promise.future());
    vertx.eventBus().<Object>request(Addresses.REGISTRY_NAME, new NameQuery(name),
            new DeliveryOptions().setSendTimeout(options.getLookupTimeoutMillis()))
        .map(DnsVerticle::status)
        .onComplete(ar -> {
          inFlight.remove(name);
          if (ar.succeeded() && ar.result() != null) {
            if (asked == generation) {
              if (cache.size() >= options.getCacheMaxNames()) {
                cache.clear();
              }
              cache.put(name, new Cached(ar.result(), System.nanoTime()
                  + TimeUnit.MILLISECONDS.toNanos(options.getCacheMillis())));
            }
            promise.complete(ar.result());
          } else {
            LOG.log(Level.DEBUG, "dns lookup of {0}: {1}; answering SERVFAIL", name,
                ar.failed() ? ar.cause().toString() : "no answer");
            promise.fail(ar.failed() ? ar.cause() : new IllegalStateException("no answer"));
          }
        });
    return promise.future();
  }

  private static NameStatus status(Message<Object> reply) {
    Object body = reply.body();
    if (body instanceof NameStatus status) {
      return status;
    }
    return body instanceof JsonObject json ? NameStatus.fromJson(json) : null;
  }

  /** Routes changed for {@code host} (null: all): forget what was cached, move the serial on. */
  private void invalidate(String host) {
    generation++;
    if (host == null) {
      cache.clear();
    } else {
      String key = host.toLowerCase(java.util.Locale.ROOT);
      cache.remove(key.endsWith(".") ? key.substring(0, key.length() - 1) : key);
    }
    bumpSerial();
  }

  private void bumpSerial() {
    serial = Math.max(serial + 1, System.currentTimeMillis() / 1000) & 0xFFFF_FFFFL;
  }

  // ---------------------------------------------------------------- ACME challenges

  private void onChallenge(Message<Object> message) {
    DnsChallenge challenge = Challenges.decode(message.body());
    Challenges.Result result = Challenges.apply(challenges, challenge, zone.origin(), options.getMaxChallenges());
    if (result instanceof Challenges.Refused refused) {
      LOG.log(Level.DEBUG, "dns challenge {0}: {1}; ignoring", challenge, refused.reason());
      message.fail(refused.code(), refused.reason());
      return;
    }
    challenges = ((Challenges.Held) result).challenges();
    bumpSerial();
    message.reply(null);
  }

  private static String describe(Map<String, List<InetAddress>> frontends) {
    if (frontends.isEmpty()) {
      return "none (A/AAAA answers are NODATA until --dns-frontends is given)";
    }
    StringBuilder out = new StringBuilder();
    new java.util.TreeMap<>(frontends).forEach((region, ips) -> out.append(out.length() == 0 ? "" : "; ")
        .append(region.isEmpty() ? "(no region)" : region).append(' ')
        .append(ips.stream().map(InetAddress::getHostAddress).toList()));
    return out.toString();
  }

  private static InetAddress address(SocketAddress address) {
    if (address == null || address.host() == null) {
      return null;
    }
    try {
      return Address.getByAddress(address.host());
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
