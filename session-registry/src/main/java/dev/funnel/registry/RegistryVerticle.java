package dev.funnel.registry;

import dev.funnel.common.bus.AcmeChallengeRequest;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.MemberStats;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.RoutableNames;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.ops.Meters;
import dev.funnel.common.options.RegistryOptions;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The registry's event-bus service: resolve, login, renew, session-closed, session-lost and
 * ports-update consumers, the session-withdrawn subscriber (other registries' withdrawals reach this
 * view at once), and the periodic sweep that withdraws routes whose lease lapsed. All state lives in
 * the {@link RegistryService} passed in; several instances may share one.
 */
public final class RegistryVerticle extends VerticleBase {

  private static final Logger LOG = System.getLogger(RegistryVerticle.class.getName());

  /** Failure code for a store failure (no {@link LoginFailure} fits: the registry is broken, not the node). */
  public static final int INTERNAL_FAILURE = 2500;

  private final RegistryOptions options;
  private final RegistryService service;
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private long sweepTimer = -1;
  private long aliasTimer = -1;
  private RegistryMetrics metrics;
  private dev.funnel.common.ops.StatsPublisher stats;

  public RegistryVerticle(RegistryOptions options, RegistryService service) {
    this.options = options;
    this.service = service;
  }

  @Override
  public Future<?> start() {
    metrics = RegistryMetrics.create(Meters.registry(), service);
    var bus = vertx.eventBus();
    consumers.add(bus.consumer(Addresses.REGISTRY_RESOLVE, this::onResolve));
    consumers.add(bus.consumer(Addresses.REGISTRY_NAME, this::onName));
    consumers.add(bus.consumer(Addresses.REGISTRY_ROUTABLE, m -> m.reply(new RoutableNames(service.routableNames()))));
    consumers.add(bus.consumer(Addresses.REGISTRY_LOGIN, this::onLogin));
    consumers.add(bus.consumer(Addresses.REGISTRY_ALIASES, m -> m.reply(service.aliases().verified())));
    consumers.add(bus.consumer(Addresses.REGISTRY_NODE_ALIASES, m -> m.reply(
        service.aliases().statusOf(m.body() instanceof String id ? id : ""))));
    consumers.add(bus.consumer(Addresses.REGISTRY_RENEW, this::onRenew));
    consumers.add(bus.consumer(Addresses.REGISTRY_SESSION_CLOSED, this::onSessionClosed));
    consumers.add(bus.consumer(Addresses.REGISTRY_SESSION_LOST, this::onSessionLost));
    consumers.add(bus.consumer(Addresses.REGISTRY_PORTS, this::onPorts));
    consumers.add(bus.consumer(Addresses.MEMBER_STATS, message -> {
      MemberStats heard = body(message, MemberStats.class, MemberStats::fromJson);
      service.clusterStats().heard(heard, System.currentTimeMillis());
    }));
    consumers.add(bus.consumer(Addresses.REGISTRY_ACME_CHALLENGE, this::onAcmeChallenge));
    consumers.add(bus.consumer(Addresses.NODE_CERT, message -> {
      if (message.body() instanceof dev.funnel.common.bus.NodeCertReport report) {
        service.certificateReported(report.nodeId(), report.notAfter());
      }
    }));
    consumers.add(bus.consumer(Addresses.SESSION_WITHDRAWN, message -> {
      SessionWithdrawn withdrawn = body(message, SessionWithdrawn.class, SessionWithdrawn::fromJson);
      if (withdrawn != null) {
        service.sessionWithdrawn(withdrawn);
      }
    }));
    consumers.add(bus.<String>consumer(Addresses.CONTROL_CHANGED, message -> service.controlChanged(message.body())
        .onFailure(err -> LOG.log(Level.ERROR, "reloading the snapshot after a change by registry "
            + message.body() + " failed", err))));
    aliasTimer = vertx.setPeriodic(Math.max(100, Math.min(1_000, options.getAliasCheckIntervalMillis())),
        id -> service.aliases().checker().tick());
    sweepTimer = vertx.setPeriodic(service.sweepPeriodMillis(), id -> service.sweep()
        .onFailure(err -> LOG.log(Level.WARNING, "lease sweep failed: " + err + "; retrying next period")));
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .onSuccess(v -> stats = dev.funnel.common.ops.StatsPublisher.start(vertx, () -> new MemberStats(
            service.registryId(), "registry", true, List.of(), 0, 0, java.util.Map.of(), 0)))
        .onSuccess(v -> LOG.log(Level.INFO, "registry serving domain {0} (lease {1} ms)", service.domain(),
            options.getLeaseMillis()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweepTimer);
    vertx.cancelTimer(aliasTimer);
    if (stats != null) {
      stats.stop();
    }
    return Future.all(consumers.stream().map(MessageConsumer::unregister).toList());
  }

  private void onResolve(Message<Object> message) {
    ResolveRequest request = body(message, ResolveRequest.class, ResolveRequest::fromJson);
    if (request == null || request.host() == null) {
      message.reply(ResolveFailure.NO_ROUTE.exception("malformed resolve request"));
      return;
    }
    String avoid = message.headers().get(Addresses.HEADER_AVOID_GATEWAY);
    service.resolveFresh(request.host(), request.port(), avoid).onComplete(ar -> {
      if (ar.failed()) {
        metrics.resolveFailed();
        answer(message, ar);
        return;
      }
      Resolution resolution = ar.result();
      if (resolution instanceof Resolution.Found found) {
        metrics.resolved(null);
        message.reply(found.route());
      } else {
        Resolution.Refused refused = (Resolution.Refused) resolution;
        metrics.resolved(refused.failure());
        LOG.log(Level.DEBUG, "resolve {0}:{1}: {2}; rejecting", request.host(), request.port(), refused.reason());
        message.reply(refused.failure().exception(refused.reason()));
      }
    });
  }

  private void onName(Message<Object> message) {
    NameQuery query = body(message, NameQuery.class, NameQuery::fromJson);
    if (query == null || query.name() == null) {
      message.reply(NameStatus.none(null));
      return;
    }
    service.nameStatus(query.name()).onComplete(ar -> answer(message, ar));
  }

  private void onLogin(Message<Object> message) {
    NodeLogin login = body(message, NodeLogin.class, NodeLogin::fromJson);
    if (login == null) {
      message.reply(LoginFailure.BAD_REQUEST.exception("malformed login"));
      return;
    }
    service.login(login).compose(session -> service.aliases().syncFromNode(session.nodeId(), login.aliases())
        .map(session)).onComplete(ar -> {
      metrics.loggedIn(ar);
      answer(message, ar);
    });
  }

  private void onRenew(Message<Object> message) {
    LeaseRenewal renewal = body(message, LeaseRenewal.class, LeaseRenewal::fromJson);
    if (renewal == null) {
      message.reply(LoginFailure.LEASE_UNKNOWN.exception("malformed renewal"));
      return;
    }
    service.renew(renewal).onComplete(ar -> answer(message, ar));
  }

  private void onSessionClosed(Message<Object> message) {
    SessionClosed closed = body(message, SessionClosed.class, SessionClosed::fromJson);
    if (closed == null) {
      message.reply(null);
      return;
    }
    service.sessionClosed(closed).onComplete(ar -> {
      if (ar.failed()) {
        LOG.log(Level.WARNING, "withdrawing " + closed + " failed: " + ar.cause() + "; its lease will lapse");
      }
      message.reply(null);
    });
  }

  private void onSessionLost(Message<Object> message) {
    SessionLossReport report = body(message, SessionLossReport.class, SessionLossReport::fromJson);
    if (report == null) {
      message.reply(LoginFailure.BAD_REQUEST.exception("malformed session-loss report"));
      return;
    }
    service.sessionLost(report).onComplete(ar -> answer(message, ar));
  }

  private void onPorts(Message<Object> message) {
    PortsUpdate update = body(message, PortsUpdate.class, PortsUpdate::fromJson);
    if (update == null) {
      message.reply(LoginFailure.BAD_REQUEST.exception("malformed ports update"));
      return;
    }
    service.updatePorts(update).onComplete(ar -> answer(message, ar));
  }

  private void onAcmeChallenge(Message<Object> message) {
    AcmeChallengeRequest request = body(message, AcmeChallengeRequest.class, AcmeChallengeRequest::fromJson);
    if (request == null) {
      message.reply(LoginFailure.BAD_REQUEST.exception("malformed ACME challenge request"));
      return;
    }
    service.acmeChallenge(request).onComplete(ar -> answer(message, ar));
  }

  /** Replies with the result, a coded refusal as it is, or any other failure as an internal one. */
  private static void answer(Message<Object> message, AsyncResult<?> ar) {
    if (ar.succeeded()) {
      message.reply(ar.result());
    } else if (ar.cause() instanceof ReplyException coded && FailureCode.of(coded).isPresent()) {
      message.reply(coded);
    } else {
      LOG.log(Level.ERROR, "registry failure on " + message.address(), ar.cause());
      message.fail(INTERNAL_FAILURE, "registry internal error");
    }
  }

  /**
   * The body as {@code type}: the record itself (local bus, or decoded by its codec), or built from
   * JSON when a peer sent plain JSON; null when it is neither or the JSON is malformed.
   */
  private static <T> T body(Message<Object> message, Class<T> type, Function<JsonObject, T> fromJson) {
    Object body = message.body();
    if (type.isInstance(body)) {
      return type.cast(body);
    }
    if (body instanceof JsonObject json) {
      try {
        return fromJson.apply(json);
      } catch (RuntimeException e) {
        return null;
      }
    }
    return null;
  }
}
