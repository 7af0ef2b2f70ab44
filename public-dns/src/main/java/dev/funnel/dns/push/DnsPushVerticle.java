package dev.funnel.dns.push;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsChallenge;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.RoutableNames;
import dev.funnel.common.ops.Meters;
import dev.funnel.dns.Challenges;
import dev.funnel.dns.DnsOptions;
import dev.funnel.dns.Zone;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * RFC 2136 push: keeps the Funnel-owned records of the operator's zone ({@link ManagedRecords}) at
 * a primary server equal to what public DNS would answer, by TSIG-signed dynamic updates.
 *
 * <p>One push: ask the registry for every routable name ({@link Addresses#REGISTRY_ROUTABLE}), build
 * the desired RRsets, compare them with what the zone holds ({@link ZoneDiff}), send the changes,
 * remember what the zone now holds. What the zone holds is read by a zone transfer (AXFR, signed)
 * on start, after any failure (a restarted or replaced primary, a lost connection) and every
 * {@link PushOptions#getResyncMillis()}; between those it is what the last transfer said plus the
 * updates the primary accepted since. So the zone converges after a restart of either side.
 *
 * <p>Pushes follow the registry's route publications ({@link Addresses#ROUTES_CHANGED},
 * {@link Addresses#SESSION_WITHDRAWN}) and challenge values ({@link Addresses#DNS_CHALLENGE}): the
 * first event of a burst starts a {@link PushOptions#getCoalesceMillis()} wait, and everything up
 * to its end goes in one push; one push runs at a time. A failed push is retried with doubling
 * backoff ({@link Backoff}); each failure kind is logged once until a push succeeds again.
 *
 * <p>Several pushers for one zone (say, {@code funnel dns --dns-push} on two machines) are harmless:
 * every change replaces or removes a whole RRset without prerequisites, so it is idempotent, and
 * every pusher sees every route publication and pushes the registry's latest word after it.
 */
public final class DnsPushVerticle extends VerticleBase {

  private static final Logger LOG = System.getLogger(DnsPushVerticle.class.getName());

  private final PushOptions options;
  private final DnsOptions dnsOptions;
  private final Zone zone;
  private final InetSocketAddress primaryAddress;
  private final MeterRegistry meterRegistry;
  private PrimaryClient primary;
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private PushMetrics metrics;
  private Map<String, List<String>> challenges = Map.of();
  /** What the zone holds, as far as we know; null: unknown, the next push transfers the zone first. */
  private Map<RRset.Key, RRset> known;
  private boolean dirty;
  /** The periodic resync is due: the next push transfers the zone first. */
  private boolean resyncDue;
  private boolean running;
  private boolean stopped;
  private long timer = -1;
  private long resyncTimer = -1;
  private int failures;
  private boolean everPushed;
  private final Set<PushOutcome> logged = EnumSet.noneOf(PushOutcome.class);

  /**
   * Checks {@code options} against the zone {@code dnsOptions} describe and resolves the primary's
   * name (blocking: call from start-up code). Throws {@link IllegalArgumentException} naming a wrong setting.
   */
  public DnsPushVerticle(PushOptions options, DnsOptions dnsOptions) {
    this(options, dnsOptions, null);
  }

  /** As {@link #DnsPushVerticle(PushOptions, DnsOptions)}, counting on {@code registry} (null: the process's). */
  public DnsPushVerticle(PushOptions options, DnsOptions dnsOptions, MeterRegistry registry) {
    this.options = options.check(dnsOptions.getDomain());
    this.dnsOptions = dnsOptions;
    this.zone = Zone.of(dnsOptions);
    this.meterRegistry = registry;
    try {
      this.primaryAddress = new InetSocketAddress(InetAddress.getByName(options.getHost()), options.getPort());
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("the primary " + options.getHost() + " does not resolve: " + e.getMessage());
    }
  }

  @Override
  public Future<?> start() {
    metrics = new PushMetrics(meterRegistry != null ? meterRegistry : Meters.registry());
    primary = new PrimaryClient(vertx, options, primaryAddress);
    var bus = vertx.eventBus();
    consumers.add(bus.consumer(Addresses.ROUTES_CHANGED, m -> changed()));
    consumers.add(bus.consumer(Addresses.SESSION_WITHDRAWN, m -> changed()));
    consumers.add(bus.<Object>consumer(Addresses.DNS_CHALLENGE, this::onChallenge));
    if (options.getResyncMillis() > 0) {
      resyncTimer = vertx.setPeriodic(options.getResyncMillis(), id -> {
        resyncDue = true;
        changed();
      });
    }
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList()).onSuccess(v -> {
      LOG.log(Level.INFO, "pushing {0} to {1} (zone {2}, TSIG key {3}) by RFC 2136", zone.origin(), primary.describe(),
          ManagedRecords.key(options.getZone()), ManagedRecords.key(options.getTsigName()));
      // The first push transfers the zone and converges it: the resync on start.
      changed();
    });
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    vertx.cancelTimer(resyncTimer);
    return Future.join(consumers.stream().map(MessageConsumer::unregister).toList());
  }

  private void onChallenge(Message<Object> message) {
    DnsChallenge challenge = Challenges.decode(message.body());
    Challenges.Result result = Challenges.apply(challenges, challenge, zone.origin(), dnsOptions.getMaxChallenges());
    if (result instanceof Challenges.Held held) {
      challenges = held.challenges();
      changed();
      message.reply(null);
    } else {
      Challenges.Refused refused = (Challenges.Refused) result;
      LOG.log(Level.DEBUG, "dns push: challenge {0}: {1}; ignoring", challenge, refused.reason());
      message.fail(refused.code(), refused.reason());
    }
  }

  /** Something changed: push once the burst is over, unless a push or a retry wait is already under way. */
  private void changed() {
    dirty = true;
    if (!running && timer == -1 && !stopped) {
      timer = vertx.setTimer(Math.max(1, options.getCoalesceMillis()), id -> run());
    }
  }

  private void run() {
    timer = -1;
    running = true;
    dirty = false;
    push().onComplete(ar -> {
      running = false;
      if (stopped) {
        return;
      }
      PushOutcome outcome = ar.succeeded() ? ar.result() : PushOutcome.of(ar.cause());
      metrics.count(outcome);
      if (outcome.failed()) {
        failed(outcome, ar.cause());
        return;
      }
      if (failures > 0) {
        LOG.log(Level.INFO, "dns push to {0} works again after {1} failed attempts; zone {2} converged",
            primary.describe(), failures, ManagedRecords.key(options.getZone()));
      } else if (!everPushed) {
        LOG.log(Level.INFO, "dns push to {0}: zone {1} in sync", primary.describe(), ManagedRecords.key(options.getZone()));
      }
      everPushed = true;
      failures = 0;
      logged.clear();
      if (dirty) {
        changed();
      }
    });
  }

  private void failed(PushOutcome outcome, Throwable cause) {
    failures++;
    dirty = true;
    if (outcome != PushOutcome.NO_REGISTRY) {
      // The primary's state is unknown now (restarted, replaced, half-applied): transfer it again.
      known = null;
    }
    long delay = Backoff.delayMillis(failures, options.getRetryFirstMillis(), options.getRetryMaxMillis(),
        ThreadLocalRandom.current().nextDouble());
    if (logged.add(outcome)) {
      long cap = options.getRetryMaxMillis();
      LOG.log(Level.WARNING, "dns push to {0} failed: {1}; retrying with backoff (up to {2}), "
              + "logged once until it works again", primary.describe(), cause == null ? outcome.label() : cause.getMessage(),
          cap % 1000 == 0 ? cap / 1000 + " s" : cap + " ms");
    } else {
      LOG.log(Level.DEBUG, "dns push to {0} failed again ({1}): {2}; next try in {3} ms", primary.describe(),
          failures, cause == null ? outcome.label() : cause.getMessage(), delay);
    }
    timer = vertx.setTimer(delay, id -> run());
  }

  /** One push: PUSHED or UNCHANGED, or a failed future (a {@link PushException} or what the bus failed with). */
  private Future<PushOutcome> push() {
    if (resyncDue) {
      resyncDue = false;
      known = null;
    }
    Future<List<NameStatus>> routable = vertx.eventBus().<Object>request(Addresses.REGISTRY_ROUTABLE, new JsonObject(),
            new DeliveryOptions().setSendTimeout(options.getRegistryTimeoutMillis()))
        .recover(err -> Future.failedFuture(new PushException(PushOutcome.NO_REGISTRY,
            "no registry listed the routable names (" + err.getMessage() + ")")))
        .compose(DnsPushVerticle::names);
    return routable.compose(names -> current().compose(current -> {
      Map<RRset.Key, RRset> desired = ManagedRecords.desired(zone, names, challenges);
      List<ZoneDiff.Change> changes = ZoneDiff.between(desired, current);
      if (changes.isEmpty()) {
        return Future.succeededFuture(PushOutcome.UNCHANGED);
      }
      LOG.log(Level.DEBUG, "dns push to {0}: {1} RRsets to change: {2}", primary.describe(), changes.size(),
          changes.size() > 10 ? changes.subList(0, 10) + "…" : changes);
      return send(ZoneDiff.batches(changes, options.getChangesPerUpdate()), 0).map(PushOutcome.PUSHED);
    }));
  }

  /** What the zone holds: {@link #known}, or a fresh transfer when that is unknown. */
  private Future<Map<RRset.Key, RRset>> current() {
    if (known != null) {
      return Future.succeededFuture(known);
    }
    return primary.transfer().map(records -> {
      known = ManagedRecords.current(zone, records);
      LOG.log(Level.DEBUG, "dns push: zone {0} transferred from {1}: {2} records, {3} RRsets Funnel owns",
          ManagedRecords.key(options.getZone()), primary.describe(), records.size(), known.size());
      return known;
    });
  }

  /** The batches from {@code index} on, one update after the other; what each accepted one changed is remembered. */
  private Future<Void> send(List<List<ZoneDiff.Change>> batches, int index) {
    if (index == batches.size()) {
      return Future.succeededFuture();
    }
    List<ZoneDiff.Change> batch = batches.get(index);
    return primary.send(ZoneDiff.update(options.getZone(), batch)).compose(v -> {
      known = ZoneDiff.applied(known, batch);
      metrics.changed(batch.size());
      return send(batches, index + 1);
    });
  }

  /** The registry's list; anything else fails the push (an empty list would remove every name). */
  private static Future<List<NameStatus>> names(Message<Object> reply) {
    Object body = reply.body();
    RoutableNames names = body instanceof RoutableNames r ? r
        : body instanceof JsonObject json && json.containsKey("names") ? RoutableNames.fromJson(json) : null;
    return names == null
        ? Future.failedFuture(new PushException(PushOutcome.NO_REGISTRY, "the registry answered without a list of names"))
        : Future.succeededFuture(names.names());
  }
}
