package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionLossReport;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The registry's side of the gateway's conversation, for tests: admits the key {@link #GOOD_KEY}
 * as node {@link #NODE_ID}, refuses any other with BAD_KEY, and records what the gateway tells it.
 */
final class FakeRegistry {

  static final String GOOD_KEY = "tskey-good-0123456789";
  static final String NODE_ID = "node-7";
  static final String FQDN = "web.demo.funnel.test";
  static final long EPOCH = 42;

  final List<NodeLogin> logins = new CopyOnWriteArrayList<>();
  final List<LeaseRenewal> renewals = new CopyOnWriteArrayList<>();
  final List<SessionClosed> closedSessions = new CopyOnWriteArrayList<>();
  final List<SessionLossReport> lossReports = new CopyOnWriteArrayList<>();
  /** ACME challenge requests received; one for another name than {@link #FQDN} is refused as the registry does. */
  final List<dev.funnel.common.bus.AcmeChallengeRequest> acmeRequests = new CopyOnWriteArrayList<>();
  private final Promise<SessionLossReport> firstLossReport = Promise.promise();
  private final Promise<LeaseRenewal> firstRenewal = Promise.promise();
  private final Promise<SessionClosed> firstClosed = Promise.promise();
  private final AtomicInteger epochs = new AtomicInteger((int) EPOCH);
  volatile long leaseMillis = 60_000;
  volatile boolean leaseKnown = true;
  /** False: logins get no answer at all (a registry that is down). */
  volatile boolean loginAnswers = true;

  FakeRegistry(Vertx vertx) {
    vertx.eventBus().<NodeLogin>consumer(Addresses.REGISTRY_LOGIN, message -> {
      NodeLogin login = message.body();
      logins.add(login);
      if (!loginAnswers) {
        return;
      }
      if (!GOOD_KEY.equals(login.authKey())) {
        message.reply(LoginFailure.BAD_KEY.exception("unknown auth key"));
        return;
      }
      message.reply(new NodeSession(NODE_ID, FQDN, "demo", epochs.getAndIncrement(), login.ports(), leaseMillis));
    });
    vertx.eventBus().<LeaseRenewal>consumer(Addresses.REGISTRY_RENEW, message -> {
      renewals.add(message.body());
      firstRenewal.tryComplete(message.body());
      if (leaseKnown) {
        message.reply(new LeaseRenewal.Ack(System.currentTimeMillis() + leaseMillis));
      } else {
        message.reply(LoginFailure.LEASE_UNKNOWN.exception("no such lease"));
      }
    });
    vertx.eventBus().<SessionClosed>consumer(Addresses.REGISTRY_SESSION_CLOSED, message -> {
      closedSessions.add(message.body());
      firstClosed.tryComplete(message.body());
      message.reply(null);
    });
    vertx.eventBus().<SessionLossReport>consumer(Addresses.REGISTRY_SESSION_LOST, message -> {
      lossReports.add(message.body());
      firstLossReport.tryComplete(message.body());
      message.reply(null);
    });
    vertx.eventBus().<dev.funnel.common.bus.AcmeChallengeRequest>consumer(Addresses.REGISTRY_ACME_CHALLENGE, message -> {
      acmeRequests.add(message.body());
      if (FQDN.equals(message.body().name())) {
        message.reply(null);
      } else {
        message.reply(dev.funnel.common.bus.LoginFailure.BAD_REQUEST.exception("not the node's own name"));
      }
    });
    vertx.eventBus().<PortsUpdate>consumer(Addresses.REGISTRY_PORTS, message -> {
      PortsUpdate update = message.body();
      message.reply(new NodeSession(update.nodeId(), FQDN, "demo", update.epoch(), update.ports(), leaseMillis));
    });
  }

  Future<LeaseRenewal> firstRenewal() {
    return firstRenewal.future();
  }

  Future<SessionLossReport> firstLossReport() {
    return firstLossReport.future();
  }

  Future<SessionClosed> firstClosedSession() {
    return firstClosed.future();
  }
}
