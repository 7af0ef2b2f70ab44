package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.Drain;
import dev.funnel.common.options.NodeOptions;
import io.netty.channel.Channel;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The link connections of one session: keeps {@code links} of them up or being dialled while the
 * session is up; one that closes is dialled again at once, a dial that fails (or a link closed right
 * after it came up) again after 0.5 s, doubling to 5 s (reset when one comes up). All close with the
 * session, unless a drain (the gateway's Bye, or this node stopping) let their tunnels go on
 * ({@link #retire}). Event loop only, apart
 * from {@link #count()}.
 */
final class SessionLinks {

  /** The session's logger: these lines were always the session's. */
  private static final System.Logger LOG = System.getLogger(Session.class.getName());

  /** A link that closes sooner than this after coming up counts as a failed dial (backoff applies). */
  private static final long SHORT_LIVED_LINK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final NodeAgentVerticle agent;
  private final Session session;
  private final Vertx vertx;
  /** Link connections up (speaking HTTP/2); their count is read by the gauges from any thread. */
  private final Set<Channel> links = ConcurrentHashMap.newKeySet();
  /** Link connections being dialled. */
  private int dialling;
  /** Consecutive failed link dials (the redial waits grow with it, reset when one comes up). */
  private int failures;
  /** A drain retired the links: those left open are no longer this session's to close. */
  private boolean retired;

  SessionLinks(NodeAgentVerticle agent, Session session, Vertx vertx) {
    this.agent = agent;
    this.session = session;
    this.vertx = vertx;
  }

  int count() {
    return links.size();
  }

  /** Dials link connections until {@code links} (the node's setting) are up or being dialled. */
  void open() {
    int wanted = Math.max(1, Math.min(NodeOptions.MAX_LINKS, agent.options().getLinks()));
    HostPort server = session.server();
    while (session.isUp() && links.size() + dialling < wanted) {
      dialling++;
      LinkConnection.open(agent, agent.linkTls(), server, session.sessionId(), session.dataSecret(), session.fqdn(),
          channel -> onContext(() -> up(channel)),
          reason -> onContext(() -> down(reason)));
    }
  }

  private void up(Channel channel) {
    dialling--;
    failures = 0;
    if (!session.isUp()) {
      channel.close();
      return;
    }
    links.add(channel);
    long upAt = System.nanoTime();
    channel.closeFuture().addListener(f -> onContext(() -> {
      links.remove(channel);
      if (!session.isUp()) {
        return;
      }
      if (System.nanoTime() - upAt < SHORT_LIVED_LINK_NANOS) {
        // Closed right after it came up (the gateway took it, then refused it): a failed dial, not
        // a reason to dial again at once.
        dialling++;
        down("the gateway closed it right after it came up");
        return;
      }
      LOG.log(Level.INFO, "link connection to {0} closed; dialling another", session.server());
      open();
    }));
  }

  /**
   * Runs {@code task} on the agent's context. A link closing while the node stops may report after
   * Vert.x has closed: then there is nothing left to do (Netty would log the refusal as a WARNING).
   */
  private void onContext(Runnable task) {
    try {
      vertx.runOnContext(v -> task.run());
    } catch (java.util.concurrent.RejectedExecutionException e) {
      LOG.log(Level.DEBUG, "link event after the node stopped: ignored");
    }
  }

  /** A dial failed (a link that was up reports its close through {@link #up}'s listener instead). */
  private void down(String reason) {
    dialling--;
    if (!session.isUp()) {
      return;
    }
    failures++;
    long wait = redialWaitMillis(failures);
    LOG.log(Level.WARNING, "link connection to {0} failed: {1}; trying again in {2} ms", session.server(), reason,
        Long.toString(wait));
    vertx.setTimer(wait, id -> open());
  }

  /** The wait before dialling again after {@code failures} (≥ 1) failed dials in a row: 0.5 s doubling to 5 s. */
  static long redialWaitMillis(int failures) {
    return Math.min(5_000, 250L << Math.min(5, failures));
  }

  /**
   * The gateway is stopping ({@code why}), or this node is, and the tunnels on these links may go on
   * for {@code drainMillis}: they are left open (the gateway closes each once its last tunnel ends;
   * the links' keepalive still closes a silent one), and closed here a second after that time at the
   * latest. The session ends next; {@link #closeAll()} then leaves them be.
   */
  void retire(long drainMillis, String why) {
    List<Channel> retired = List.copyOf(links);
    links.clear();
    this.retired = true;
    if (!retired.isEmpty()) {
      LOG.log(Level.INFO, "{0}: the tunnels on the {1} link connection(s) to {2} may go on for up to {3} s", why,
          String.valueOf(retired.size()), session.server(), Drain.seconds(drainMillis));
      vertx.setTimer(drainMillis + 1_000, id -> retired.forEach(Channel::close));
    }
  }

  /** The session ended: its links close (a tunnel still running on one ends with it), unless retired. */
  void closeAll() {
    if (retired) {
      return;
    }
    for (Channel link : List.copyOf(links)) {
      link.close();
    }
    links.clear();
  }
}
