package dev.funnel.dns;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsChallenge;
import dev.funnel.common.bus.MemberStats;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.ops.Meters;
import dev.funnel.common.ops.StatsPublisher;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Authoritative DNS for the base domain over UDP and TCP (RFC 1035, RFC 7766): wires the parts
 * together and to the event bus. {@link DnsListeners} receive and send, {@link QueryAnswerer} turns a
 * query into its response (parse {@link DnsQuery}, decide {@link Answers}), {@link NameLookups} asks
 * the registry ({@link Addresses#REGISTRY_NAME}, cached, dropped on route changes), {@link ZoneState}
 * holds the serial and the ACME challenge values.
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

  private final DnsOptions options;
  private final MeterRegistry meterRegistry;
  private final Zone zone;
  private final RateLimiter limiter;
  private final ZoneState state = new ZoneState();
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private NameLookups lookups;
  private QueryAnswerer answerer;
  private DnsListeners listeners;
  private StatsPublisher stats;

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
    lookups = new NameLookups(vertx, options);
    answerer = new QueryAnswerer(zone, limiter, lookups, state, new DnsMetrics(meterRegistry()));
    listeners = new DnsListeners(vertx, options, answerer);
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
        .compose(v -> listeners.listen())
        .onSuccess(v -> stats = StatsPublisher.start(vertx, () -> new MemberStats(
            "dns@" + options.getHost() + ":" + actualPort(), "dns", true, List.of(), 0, 0, Map.of(), 0)))
        .onSuccess(v -> LOG.log(Level.INFO, "public DNS for {0} on {1}:{2,number,#} (udp, tcp); NS {3}; frontends {4}",
            zone.origin(), options.getHost(), actualPort(), zone.nameservers(), describe(zone.frontends())));
  }

  @Override
  public Future<?> stop() {
    if (stats != null) {
      stats.stop();
    }
    List<Future<?>> closing = new ArrayList<>();
    consumers.forEach(c -> closing.add(c.unregister()));
    if (listeners != null) {
      closing.add(listeners.close());
    }
    return Future.join(closing);
  }

  /** The port UDP and TCP are bound to (after start). */
  public int actualPort() {
    return listeners == null ? -1 : listeners.port();
  }

  private MeterRegistry meterRegistry() {
    return meterRegistry != null ? meterRegistry : Meters.registry();
  }

  /**
   * {@link Addresses#DNS_LOOKUP} ({@code funnel status}): what this server answers for an A query of
   * the name, asked through the same path as a query from the network (counted as a TCP query), and
   * where it listens.
   */
  private void onLookup(Message<Object> message) {
    String name = message.body() instanceof NameQuery q ? q.name()
        : message.body() instanceof JsonObject json ? json.getString("name") : null;
    String listen = options.getHost() + ":" + actualPort();
    byte[] wire;
    try {
      wire = StatusLookup.query(name);
    } catch (Exception e) {
      message.reply(StatusLookup.unaskable(listen));
      return;
    }
    answerer.answer(wire, DnsMetrics.TCP, null)
        .onComplete(ar -> message.reply(StatusLookup.reply(listen, ar.succeeded() ? ar.result() : null)));
  }

  /** Routes changed for {@code host} (null: all): forget what was cached, move the serial on. */
  private void invalidate(String host) {
    lookups.invalidate(host);
    state.bumpSerial();
  }

  private void onChallenge(Message<Object> message) {
    DnsChallenge challenge = Challenges.decode(message.body());
    Challenges.Result result = Challenges.apply(state.challenges(), challenge, zone.origin(), options.getMaxChallenges());
    if (result instanceof Challenges.Refused refused) {
      LOG.log(Level.DEBUG, "dns challenge {0}: {1}; ignoring", challenge, refused.reason());
      message.fail(refused.code(), refused.reason());
      return;
    }
    state.challenges(((Challenges.Held) result).challenges());
    message.reply(null);
  }

  private static String describe(Map<String, List<InetAddress>> frontends) {
    if (frontends.isEmpty()) {
      return "none (A/AAAA answers are NODATA until --dns-frontends is given)";
    }
    StringBuilder out = new StringBuilder();
    new TreeMap<>(frontends).forEach((region, ips) -> out.append(out.length() == 0 ? "" : "; ")
        .append(region.isEmpty() ? "(no region)" : region).append(' ')
        .append(ips.stream().map(InetAddress::getHostAddress).toList()));
    return out.toString();
  }
}
