package dev.funnel.frontend;

import dev.funnel.common.net.DataPlane;
import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.frontend.FrontendMetrics.Outcome;
import io.micrometer.core.instrument.Gauge;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * The frontend's accept-time gate: asks the {@link ConnectionLimiter} about each new public
 * connection, closes a refused one at once (nothing read, nothing written: a flood gets no TLS
 * alert to amplify), counts it in {@code funnel_frontend_connections_total{outcome}} with the
 * refusal as the outcome ({@code rate_limited}, {@code source_limit}, {@code server_full}), and for
 * an admitted one arranges the release when its channel closes and tunes its TCP keepalive.
 *
 * <p>Refusals are logged as one line each, but at most one line per second: a flood of thousands of
 * refusals per second must not turn into a flood of log lines. The next line says how many
 * refusals it stands for.
 *
 * <p>The release hangs on the channel's close future: it fires exactly once, whoever closes the
 * channel and whatever state the connection is in, so the count can never leak. The keepalive
 * timing (idle, interval, probes) has no portable channel option: on NIO it goes on the listening
 * socket, which Linux copies to each accepted one ({@link DataPlane#keepAliveTimingOnListener});
 * on epoll {@link DataPlane#keepAliveTiming} sets it on each connection.
 *
 * <p>Accept back-off: when {@code accept(2)} itself fails (EMFILE/ENFILE: out of file descriptors),
 * Netty's {@code ServerBootstrapAcceptor.exceptionCaught} turns auto-read off on the listening
 * channel and turns it back on one second later, so the accept loop never spins; Vert.x 5 builds
 * the frontend's listeners are {@code ServerBootstrap}s on the data plane's loops. The global cap exists so that point
 * is never reached: refused connections are closed the moment they are accepted.
 */
final class Admission {

  private static final System.Logger LOG = System.getLogger(Admission.class.getName());

  /** Seconds between keepalive probes once they start, and how many unanswered probes mean dead. */
  static final int KEEPALIVE_INTERVAL_SECONDS = 30;
  static final int KEEPALIVE_PROBES = 4;

  private final ConnectionLimiter limiter;
  private final FrontendMetrics metrics;
  private final int keepAliveIdleSeconds;
  /** Set before any listener binds, read on the loops that accept: the bind publishes it. */
  private volatile boolean timedByListener;
  /** One line a second for refused connections: a flood is what the limits are for. */
  private final LogLimit refusals = new LogLimit(1);

  Admission(FrontendOptions options, FrontendMetrics metrics) {
    this.limiter = new ConnectionLimiter(new ConnectionLimiter.Limits(options.getMaxConnections(),
        options.getMaxConnectionsPerSource(), options.getSourceRatePerSecond(), options.getSourceBurst(),
        options.getMaxTrackedSources()), System::nanoTime);
    this.metrics = metrics;
    this.keepAliveIdleSeconds = options.getKeepAliveIdleSeconds();
    Gauge.builder("funnel.frontend.connections.open", limiter, ConnectionLimiter::openConnections)
        .description("Public connections open now (reading a ClientHello, routing or spliced)")
        .register(metrics.registry());
    Gauge.builder("funnel.frontend.limiter.sources", limiter, ConnectionLimiter::trackedSources)
        .description("Sources whose connection rate the frontend remembers (bounded)")
        .register(metrics.registry());
  }

  ConnectionLimiter limiter() {
    return limiter;
  }

  /**
   * True when {@code channel} (just accepted, on the listener's loop, in accept order; not yet
   * registered with a loop of its own) may proceed; it is then counted until it closes. False when
   * it was refused: it is already closed, counted and (rate-limited) logged.
   */
  boolean admit(Channel channel, int publicPort) {
    String host = channel.remoteAddress() instanceof InetSocketAddress inet && inet.getAddress() != null
        ? inet.getAddress().getHostAddress() : null;
    String source = ConnectionLimiter.sourceOf(host);
    ConnectionLimiter.Verdict verdict = limiter.admit(source);
    if (verdict != ConnectionLimiter.Verdict.ADMITTED) {
      if (channel.isRegistered()) {
        channel.close();
      } else {
        channel.unsafe().closeForcibly();   // as ServerBootstrap's acceptor closes a child it cannot register
      }
      Outcome outcome = switch (verdict) {
        case RATE_LIMITED -> Outcome.RATE_LIMITED;
        case SOURCE_LIMIT -> Outcome.SOURCE_LIMIT;
        default -> Outcome.SERVER_FULL;
      };
      metrics.connection(publicPort, outcome);
      logRefusal(host, publicPort, verdict);
      return false;
    }
    channel.closeFuture().addListener(f -> limiter.release(source));
    tuneKeepAlive(channel);
    return true;
  }

  /**
   * Gives a public listener the keepalive timing, where the platform lets accepted sockets inherit
   * it; otherwise {@link #admit} sets it on each connection.
   */
  void tuneListener(ServerBootstrap listener) {
    if (keepAliveIdleSeconds > 0 && DataPlane.keepAliveTimingOnListener(listener, keepAliveIdleSeconds,
        KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_PROBES)) {
      timedByListener = true;
    }
  }

  private void tuneKeepAlive(Channel channel) {
    if (keepAliveIdleSeconds <= 0 || timedByListener) {
      return;   // the kernel's timing, or the listener's (inherited); SO_KEEPALIVE is on either way
    }
    try {
      DataPlane.keepAliveTiming(channel, keepAliveIdleSeconds, KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_PROBES);
    } catch (RuntimeException | Error unsupported) {
      LOG.log(DEBUG, "TCP keepalive timing not settable here: {0}", unsupported.toString());
    }
  }

  private void logRefusal(String host, int publicPort, ConnectionLimiter.Verdict verdict) {
    refusals.log(LOG, INFO, "connections refused", () -> (host == null ? "unknown" : host) + " on :" + publicPort
        + ": " + switch (verdict) {
          case RATE_LIMITED -> "opens connections faster than its limit";
          case SOURCE_LIMIT -> "already holds its limit of open connections";
          default -> "arrived while the frontend holds its limit of open connections";
        } + "; rejecting");
  }
}
