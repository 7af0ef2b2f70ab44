package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The sessions this node keeps, one per slot, each on a different gateway: dials a slot's session,
 * and when it ends, either gives up (the first login refused for good: {@link LoginRefusal}) or
 * reconnects to the next server its rotation picks ({@link ServerPick}) after the slot's own backoff,
 * or, refused for good once up, after {@code refusedRetryMillis}, with one ERROR naming the fix. Slot 0 logs in first; the
 * others start after the first Welcome, by the node key alone. Reports sessions lost without a Bye
 * through the others ({@link LossReports}), and answers which sessions are up.
 *
 * <p>Mutated on the agent's event loop only; the queries read volatiles from any thread.
 */
final class SessionSlots {

  /** The agent's logger: these lines were always the agent's. */
  private static final System.Logger LOG = System.getLogger(NodeAgentVerticle.class.getName());

  /**
   * One session slot: its current session (being set up, or up), the server it is on or will dial
   * next, its own backoff and reconnect timer.
   */
  private static final class Slot {
    /** Login failures already said at WARNING (before the first session; a few kinds at most). */
    static final int LOGIN_FAILURES_REMEMBERED = 16;

    final Backoff backoff;
    volatile Session session;
    volatile boolean up;
    /** Whether this slot ever had a session: its failures since are failed reconnects. */
    boolean everUp;
    /** The server this slot's session is on, or the one it will dial next; no other slot takes it. */
    HostPort server;
    /** Where this slot's rotation through {@code servers} continues. */
    int nextServer;
    long reconnectTimer = -1;
    final Set<String> loginFailures = new HashSet<>();

    Slot(int index, Backoff backoff) {
      this.nextServer = index;
      this.backoff = backoff;
    }
  }

  private final NodeAgentVerticle agent;
  private final NodeOptions options;
  private final ServeState serve;
  private final CertificateExpiry expiry;
  private final List<Slot> slots = new ArrayList<>();
  private final Promise<Void> firstWelcome = Promise.promise();
  private final LossReports losses = new LossReports();
  private Vertx vertx;
  private Context context;
  private ControlDialer dialer;
  private boolean everWelcomed;
  private final RefusalNotes refusals = new RefusalNotes();
  private volatile boolean stopped;

  SessionSlots(NodeAgentVerticle agent, NodeOptions options, ServeState serve, CertificateExpiry expiry) {
    this.agent = agent;
    this.options = options;
    this.serve = serve;
    this.expiry = expiry;
  }

  /**
   * Makes the slots: {@code sessions} (1 or 2), at most one per distinct server. Called on the
   * agent's context at its start, before {@link #connectFirst}.
   */
  void open(Vertx vertx) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    int distinct = new HashSet<>(options.getServers()).size();
    int wanted = Math.max(1, Math.min(2, options.getSessions()));
    if (wanted > distinct) {
      LOG.log(Level.WARNING, "{0} sessions asked for, but only {1} distinct server(s) given; keeping {1}",
          wanted, distinct);
    }
    for (int i = 0; i < Math.min(wanted, distinct); i++) {
      slots.add(new Slot(i, new Backoff(options.getBackoffMinMillis(), options.getBackoffMaxMillis(),
          new SecureRandom())));
    }
  }

  /** Dials slot 0's session (a new node enrols with it); completes at the first Welcome. */
  Future<Void> connectFirst(ControlDialer dialer) {
    this.dialer = dialer;
    connect(slots.get(0));
    return firstWelcome.future();
  }

  /** Completes when the first session is welcomed; fails if the first login is refused. */
  Future<Void> firstWelcome() {
    return firstWelcome.future();
  }

  /**
   * The auth key a Hello carries: the configured one until a session has been welcomed, then none.
   * Once enrolled, the node logs in by its node key alone, so a node the admin removed (or whose
   * key was revoked) is refused instead of enrolling itself again with a reusable key.
   */
  String authKeyForLogin() {
    return everWelcomed || !hasAuthKey(options) ? null : options.getAuthKey();
  }

  static boolean hasAuthKey(NodeOptions options) {
    return options.getAuthKey() != null && !options.getAuthKey().isEmpty();
  }

  // ---- queries, any thread ----

  /** The sessions that are up. */
  List<Session> up() {
    List<Session> out = new ArrayList<>();
    for (Slot slot : List.copyOf(slots)) {
      Session s = slot.session;
      if (slot.up && s != null) {
        out.add(s);
      }
    }
    return out;
  }

  /** Every slot's session, up or being set up, with whether it is up. */
  List<NodeAgentVerticle.SessionInfo> sessions() {
    List<NodeAgentVerticle.SessionInfo> out = new ArrayList<>();
    for (Slot slot : List.copyOf(slots)) {
      Session s = slot.session;
      if (s != null) {
        out.add(new NodeAgentVerticle.SessionInfo(s.server(), s.gatewayId(), slot.up, s.linkCount(),
            s.welcomedPorts(), s.refused()));
      }
    }
    return out;
  }

  int upCount() {
    int up = 0;
    for (Slot slot : List.copyOf(slots)) {
      up += slot.up ? 1 : 0;
    }
    return up;
  }

  // ---- through sessions, any thread ----

  /**
   * Runs {@code request} on a session that is up, on the agent's loop; fails with "no session is
   * up" when none is (or before the start, or after the stop).
   */
  <T> Future<T> throughAnyUp(Function<Session, Future<T>> request) {
    if (context == null) {
      return Future.failedFuture("no session is up");
    }
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> {
      List<Session> up = up();
      if (up.isEmpty() || stopped) {
        done.fail("no session is up");
      } else {
        request.apply(up.get(0)).onComplete(done);
      }
    });
    return done.future();
  }

  /** Sends a ServeUpdate on every session that is up; completes when each answered (at once before the start). */
  Future<Void> serveUpdate(List<Integer> ports) {
    if (context == null) {
      return Future.succeededFuture();
    }
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      List<Future<Void>> updates = new ArrayList<>();
      for (Session s : up()) {
        if (!stopped) {
          updates.add(s.sendServeUpdate(ports));
        }
      }
      Future.all(updates).<Void>mapEmpty().onComplete(done);
    });
    return done.future();
  }

  /** Runs {@code action} on each session that is up, on the agent's loop (nothing before the start). */
  void eachUp(Consumer<Session> action) {
    if (context != null) {
      context.runOnContext(v -> up().forEach(action));
    }
  }

  // ---- from sessions, event loop ----

  /** A session was welcomed (for the first time, or again after a ServeUpdate). */
  void welcomed(Session s, boolean first) {
    Slot slot = slotOf(s);
    if (slot == null) {
      return;
    }
    if (!first) {
      LOG.log(Level.INFO, "serve update accepted: {0} on {1} (ports {2})", s.fqdn(), s.server(),
          join(s.welcomedPorts()));
      logRefused(s);
      return;
    }
    slot.up = true;
    slot.everUp = true;
    boolean firstEver = !everWelcomed;
    everWelcomed = true;
    refusals.welcomed(s.fqdn());
    int attempts = slot.backoff.attempts();
    slot.backoff.reset();
    LOG.log(Level.INFO, "session up as {0} on {1} (ports {2}; {3} of {4} sessions up{5})", s.fqdn(), s.server(),
        join(s.welcomedPorts()), upCount(), slots.size(),
        firstEver || attempts <= 1 ? "" : "; after " + attempts + " attempts");
    logRefused(s);
    firstWelcome.tryComplete();
    losses.reportThrough(up(), System.nanoTime());
    expiry.tell(s);
    List<Integer> ports = serve.ports();
    if (!s.welcomedPorts().equals(ports)) {
      // The serve config changed while this session was logging in (its Hello carried the old ports).
      s.sendServeUpdate(ports).onFailure(err -> LOG.log(Level.WARNING, "serve update on {0} failed: {1}",
          s.server(), NodeAgentVerticle.reason(err)));
    }
    if (firstEver) {
      for (Slot other : slots) {
        if (other.session == null && other.reconnectTimer < 0 && other.server == null) {
          connect(other);
        }
      }
    }
  }

  private static void logRefused(Session s) {
    s.refused().forEach((port, reason) -> LOG.log(Level.WARNING,
        "public port {0} of {1} is not routed: {2}; clients are refused until that changes", Integer.toString(port),
        s.fqdn(), reason));
  }

  /** What a gateway's Refused means for this node now ({@link LoginRefusal#of}). */
  LoginRefusal judge(dev.funnel.common.peerapi.ControlMessage.Refused r) {
    return refusals.judge(r, everWelcomed);
  }

  /**
   * A session (or an attempt at one) ended; decide between giving up and reconnecting.
   * {@code refused}: the gateway's Refused, judged; null for any other end.
   */
  void sessionEnded(Session s, String reason, LoginRefusal refused) {
    Slot slot = slotOf(s);
    if (slot != null) {
      ended(slot, reason, refused, s.endedOnPurpose());
      if (!stopped) {
        s.lostWithoutBye(reason).ifPresent(lost -> {
          long now = System.nanoTime();
          losses.add(lost, now);
          losses.reportThrough(up(), now);
        });
      }
    }
  }

  /** {@code planned}: the gateway said bye (it is stopping or handing the node on): news, not a fault. */
  private void ended(Slot slot, String reason, LoginRefusal refused, boolean planned) {
    HostPort server = slot.server;
    boolean wasUp = slot.up;
    slot.session = null;
    slot.up = false;
    slot.server = null;
    if (stopped) {
      return;
    }
    if (refused != null && refused.permanent() && !everWelcomed) {
      // start() fails with this, and funnel node says it in its one line: not a second time here.
      LOG.log(Level.DEBUG, "the server {0} refused this node: {1}", server, refused.line());
      firstWelcome.tryFail(new IllegalStateException("the server refused this node: " + refused.line()));
      stop();
      return;
    }
    if (refused != null && refused.permanent()) {
      // Retrying at the backoff's pace cannot help: someone must act. Say so once, with the fix, and
      // try again slowly (the server's state may be put back: a restored store, a node re-added).
      long delay = options.getRefusedRetryMillis();
      HostPort next = pickServer(slot);
      refusals.refusedForGood(server, refused, next, delay);
      slot.reconnectTimer = vertx.setTimer(delay, id -> {
        slot.reconnectTimer = -1;
        dial(slot, next);
      });
      return;
    }
    long delay = slot.backoff.next();
    HostPort next = pickServer(slot);
    if (wasUp) {
      slot.loginFailures.clear();   // a new outage: its failures are news again
      LOG.log(planned ? Level.INFO : Level.WARNING, "session with {0} ended: {1}; reconnecting to {2} in {3} ms ({4} of {5}"
          + " sessions up)",
          server, reason, next, delay, upCount(), slots.size());
    } else {
      // A failed login or reconnect: one WARNING per kind of failure (per outage once a session was
      // up), the retries after it at INFO, so a server down for hours does not fill the log.
      boolean first = slot.loginFailures.size() < Slot.LOGIN_FAILURES_REMEMBERED && slot.loginFailures.add(reason);
      Level retry = first ? Level.DEBUG : Level.INFO;
      if (slot.everUp) {
        if (first) {
          LOG.log(Level.WARNING, "cannot reconnect to {0}: {1}; retrying with backoff, up to {2} s apart ({3} of {4}"
              + " sessions up; more failures like this one are logged at INFO)", server, reason,
              options.getBackoffMaxMillis() / 1000, upCount(), slots.size());
        }
        LOG.log(retry, "cannot reconnect to {0}: {1}; retrying at {2} in {3} ms (attempt {4})",
            server, reason, next, delay, slot.backoff.attempts());
      } else {
        if (first && refused != null) {
          LOG.log(Level.WARNING, "--server {0} refused the login for now: {1}; retrying with backoff", server, reason);
        } else if (first) {
          LOG.log(Level.WARNING, "--server {0}: cannot log in: {1}; check that funnel server or funnel gateway runs"
              + " there (its ready line names the gateway HOST:PORT); retrying with backoff", server, reason);
        }
        LOG.log(retry, "cannot log in at {0}: {1}; retrying at {2} in {3} ms (attempt {4})",
            server, reason, next, delay, slot.backoff.attempts());
      }
    }
    slot.reconnectTimer = vertx.setTimer(delay, id -> {
      slot.reconnectTimer = -1;
      dial(slot, next);
    });
  }

  private void connect(Slot slot) {
    dial(slot, pickServer(slot));
  }

  private void dial(Slot slot, HostPort server) {
    if (stopped) {
      return;
    }
    slot.server = server;
    dialer.dial(server).onComplete(ar -> {
      if (stopped) {
        if (ar.succeeded()) {
          ar.result().close();
        }
        return;
      }
      if (ar.failed()) {
        ended(slot, "cannot connect: " + NodeAgentVerticle.reason(ar.cause()), null, false);
        return;
      }
      Session s = new Session(agent, this, server, ar.result());
      slot.session = s;
      s.begin();
    });
  }

  /** The next server for {@code slot}, avoiding those the other slots are on or about to dial. Reserves it. */
  private HostPort pickServer(Slot slot) {
    List<HostPort> taken = new ArrayList<>();
    for (Slot other : slots) {
      if (other != slot && other.server != null) {
        taken.add(other.server);
      }
    }
    ServerPick pick = ServerPick.of(options.getServers(), slot.nextServer, taken);
    slot.nextServer = pick.next();
    slot.server = pick.server();
    return pick.server();
  }

  private Slot slotOf(Session s) {
    for (Slot slot : slots) {
      if (s != null && slot.session == s) {
        return slot;
      }
    }
    return null;
  }

  /** Closes every session and cancels every reconnect; nothing is dialled after. Idempotent. */
  void stop() {
    stop(0);
  }

  /**
   * As {@link #stop()}; with {@code drainMillis} > 0 the sessions' link connections stay open so
   * the tunnels on them may go on for that long (the node's clean stop: {@link SessionLinks#retire}).
   */
  void stop(long drainMillis) {
    if (stopped) {
      return;
    }
    stopped = true;
    for (Slot slot : slots) {
      if (slot.reconnectTimer >= 0 && vertx != null) {
        vertx.cancelTimer(slot.reconnectTimer);
      }
      Session s = slot.session;
      slot.session = null;
      slot.up = false;
      if (s != null) {
        s.close("node agent stopping", drainMillis);
      }
    }
    firstWelcome.tryFail("node agent stopped");
  }

  private static String join(List<Integer> ports) {
    StringBuilder out = new StringBuilder();
    for (Integer p : ports) {
      out.append(out.length() == 0 ? "" : ", ").append(p);
    }
    return out.length() == 0 ? "none" : out.toString();
  }
}
