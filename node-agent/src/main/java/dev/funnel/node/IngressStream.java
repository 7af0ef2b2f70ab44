package dev.funnel.node;

import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.EarlyReads;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.OffLoopResolver;
import dev.funnel.common.net.Pacer;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.StreamSplice;
import dev.funnel.common.ops.OutageLog;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.IngressOffer;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * One ingress offer on a link connection, answered from this node's own configuration only:
 *
 * <ol>
 *   <li>not a well-formed {@code POST /v0/ingress} → 400 / 404 / 405;</li>
 *   <li>target host is not this session's name nor one of its verified custom domains → 403;</li>
 *   <li>target port not in the current serve snapshot → 403;</li>
 *   <li>a stream port ({@code tcp://}, {@code tls-terminated-tcp://}) whose gate ({@link TcpGate}:
 *       CIDR lists, connection rate) refuses the offer's client address → 403;</li>
 *   <li>while an order of this node waits for tls-alpn-01, a port-443 stream whose ClientHello
 *       offers only {@code acme-tls/1} goes to the ACME challenge responder ({@link HelloPeek});</li>
 *   <li>no terminator listener for a port whose target terminates TLS → 503;</li>
 *   <li>the local target does not answer → 503;</li>
 *   <li>otherwise 200, and the stream is spliced to the local target (behind a PROXY header when
 *       configured); nothing else is ever dialled.</li>
 * </ol>
 *
 * The stream is a {@link LinkStreams.End} of the link connection, no channel of its own. While the
 * local target is dialled nothing listens to it: the End holds its frames in order (the client's
 * early bytes, even END_STREAM), and the stream's window bounds them. Runs on the link connection's
 * loop.
 */
final class IngressStream {

  private static final System.Logger LOG = System.getLogger(IngressStream.class.getName());

  /** tls-alpn-01 validations always come to port 443 (RFC 8737 §3). */
  static final int ACME_PORT = 443;
  static final java.util.List<String> ACME_TLS_ONLY = java.util.List.of("acme-tls/1");

  private final NodeAgentVerticle agent;
  private final String fqdn;

  IngressStream(NodeAgentVerticle agent, String fqdn) {
    this.agent = agent;
    this.fqdn = fqdn;
  }

  /** The stream's request head was read (during the link's read): decide, and answer. */
  void onOffer(LinkStreams.End end, Http2HeadersFrame head) {
    if (head.isEndStream()) {
      // The client sent nothing and ended: its end goes in front of whatever comes, as a frame, so
      // the peek and the splice see it in order like any other END_STREAM.
      end.unread(java.util.List.of(new DefaultHttp2DataFrame(true)));
    }
    IngressOffer.Parsed parsed = IngressOffer.parse(head.headers());
    if (parsed instanceof IngressOffer.Reject reject) {
      refuse(null, end, reject.status(), reject.reason());
      return;
    }
    IngressOffer offer = ((IngressOffer.Offer) parsed).offer();
    HostPort target = offer.target();
    if (fqdn == null || !target.host().equalsIgnoreCase(fqdn)
        && !agent.aliases().verified().contains(target.host().toLowerCase(java.util.Locale.ROOT))) {
      refuse(offer, end, IngressAnswer.FORBIDDEN, "offer for " + IngressOffer.printable(target.toString())
          + ", but this node is " + fqdn);
      return;
    }
    ServeTarget serveTarget = agent.serveState().snapshot().get(target.port());
    if (serveTarget == null) {
      refuse(offer, end, IngressAnswer.FORBIDDEN, "port " + target.port() + " is not funnelled by this node");
      return;
    }
    if (serveTarget.kind().isStream()) {
      java.util.Optional<String> refusal = agent.serveState().gate(target.port()).flatMap(gate -> gate.refusal(offer.source()));
      if (refusal.isPresent()) {
        // The gate logged this refusal (rate-bounded), with the client's address: not logged twice.
        answerRefusal(offer, end, IngressAnswer.FORBIDDEN, "port " + target.port() + ": the node's gate refused this client ("
            + refusal.get() + ")");
        return;
      }
    }
    HostPort responder = agent.acmeResponder();
    if (responder != null && target.port() == ACME_PORT) {
      // An order of this node waits for tls-alpn-01: the CA's validation is the connection whose
      // ClientHello offers only acme-tls/1 (RFC 8737 §3); it goes to the challenge responder. The
      // hello usually comes with the offer (HelloPeek reads on for it otherwise, which a frontend
      // that waits for the answer before sending needs), so this offer is answered 200 first; a
      // local target that is down then ends the stream instead of answering 503.
      agent.metrics().offer(IngressAnswer.OK);
      agent.offers().answered(offer.source(), target.port(), IngressAnswer.OK);
      end.write(new DefaultHttp2HeadersFrame(IngressAnswer.accept(), false));
      end.flush();
      HelloPeek.peek(end, agent.helloPeekDeadlineMillis(), (peeked, protocols) -> {
        if (protocols.equals(ACME_TLS_ONLY)) {
          agent.offers().validation();
          dial(peeked, offer, null, InetSocketAddress.createUnresolved(responder.host(), responder.port()), 0,
              true);
        } else {
          route(peeked, offer, serveTarget, true);
        }
      });
      return;
    }
    route(end, offer, serveTarget, false);
  }

  /** Dials the port's target: the terminator for a target that terminates TLS, else the target itself. */
  private void route(LinkStreams.End end, IngressOffer offer, ServeTarget serveTarget, boolean answered) {
    HostPort target = offer.target();
    NodeOptions options = agent.options();
    java.net.SocketAddress dial;
    int proxyVersion;
    if (serveTarget.kind().terminatesTls()) {
      Path socket = options.getTerminatorSockets().get(target.port());
      HostPort listener = options.getTerminatorListeners().get(target.port());
      if (socket == null && listener == null) {
        refuse(offer, end, IngressAnswer.UNAVAILABLE, "no tls-terminator listens for port " + target.port() + " ("
            + serveTarget + ")", answered);
        return;
      }
      // The terminator in this process: over its Unix domain socket when it has one (no TCP stack).
      dial = socket != null ? DataPlane.domainSocketAddress(socket)
          : InetSocketAddress.createUnresolved(listener.host(), listener.port());
      proxyVersion = 2;
    } else {
      dial = InetSocketAddress.createUnresolved(serveTarget.host(), serveTarget.port());
      proxyVersion = options.getProxyProtocol();
    }
    // A tcp:// target is the owner's own server: its failures are its outage, logged once.
    dial(end, offer, serveTarget.kind().terminatesTls() ? null : serveTarget, dial, proxyVersion, answered);
  }

  /**
   * Dials {@code dial} on the link's loop and splices; {@code answered}: the offer was already
   * answered 200 (a failure ends the stream). {@code ownTarget}: the node owner's own server being
   * dialled (a {@code tcp://} target), whose failures and answers go to its outage log; null for
   * the terminator or the ACME challenge responder. Nothing listens to the stream meanwhile.
   */
  private void dial(LinkStreams.End end, IngressOffer offer, ServeTarget ownTarget, java.net.SocketAddress dial,
                    int proxyVersion, boolean answered) {
    HostPort target = offer.target();
    NodeOptions options = agent.options();
    boolean overSocket = DataPlane.isDomainSocket(dial);
    Bootstrap bootstrap = new Bootstrap()
        .group(end.context().channel().eventLoop())
        .channel(overSocket ? DataPlane.domainSocketChannel() : DataPlane.channel())
        .resolver(OffLoopResolver.INSTANCE)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.getLocalDialTimeoutMillis()))
        .handler(new EarlyReads());
    if (!overSocket) {
      bootstrap.option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.ALLOW_HALF_CLOSURE, true);
    } else if (DataPlane.epoll()) {
      // Netty's NioDomainSocketChannel knows neither option (it would log a WARNING per connection);
      // the epoll one half-closes like TCP.
      bootstrap.option(ChannelOption.ALLOW_HALF_CLOSURE, true);
    }
    bootstrap.connect(dial)
        .addListener((ChannelFuture connected) -> {
          if (!connected.isSuccess()) {
            String reason = "cannot reach " + printable(dial) + " for port " + target.port() + ": "
                + NodeAgentVerticle.reason(connected.cause());
            if (ownTarget == null) {
              refuse(offer, end, IngressAnswer.UNAVAILABLE, reason, answered);
              return;
            }
            // The node owner's own server is down: its outage is logged, not each client.
            agent.offers().targetFailed(target.port(), ownTarget, OutageLog.reason(connected.cause()));
            if (answered) {
              end.abandon();   // answered 200 before the ACME peek: the stream just ends
            } else {
              answerRefusal(offer, end, IngressAnswer.UNAVAILABLE, reason);
            }
            return;
          }
          Channel local = connected.channel();
          if (end.isClosed()) {
            // Reset by the gateway (its client left) or gone with its link during the dial: nobody
            // would ever read or close this socket. The frames the stream held are dropped.
            local.close();
            end.discard();
            return;
          }
          if (proxyVersion != 0) {
            String localIp = local.localAddress() instanceof InetSocketAddress inet
                ? inet.getAddress().getHostAddress() : "127.0.0.1";
            try {
              // First on the socket: the socket is on this loop, so the client's bytes the splice
              // writes follow it.
              local.write(Unpooled.wrappedBuffer(ProxyHeader.encode(proxyVersion, offer.source(), localIp,
                  target.port()).getBytes()));
            } catch (IllegalArgumentException e) {
              local.close();
              refuse(offer, end, IngressAnswer.BAD_REQUEST, "cannot write a PROXY header: " + e.getMessage(), answered);
              return;
            }
          }
          accepted(offer, end, local, target, ownTarget, answered);
        });
  }

  private void accepted(IngressOffer offer, LinkStreams.End end, Channel local, HostPort target,
                        ServeTarget ownTarget, boolean answered) {
    NodeMetrics metrics = agent.metrics();
    LOG.log(Level.DEBUG, () -> "offer for port " + target.port() + " accepted: tunnel to " + local.remoteAddress());
    if (ownTarget != null) {
      agent.offers().targetAnswered(target.port(), ownTarget);
    }
    if (!answered) {
      metrics.offer(IngressAnswer.OK);
      agent.offers().answered(offer.source(), target.port(), IngressAnswer.OK);
      end.write(new DefaultHttp2HeadersFrame(IngressAnswer.accept(), false));
      end.flush();
    }
    metrics.tunnelOpened();
    // inbound = the public client's bytes to the local target (stream → socket), outbound the reply.
    StreamSplice.start(PeekedConnection.fresh(local), end, metrics::outbound, metrics::inbound, Pacer.NONE, Pacer.NONE)
        .addListener(done -> metrics.tunnelClosed());
    // The PROXY header, when no frame of the client's was held to go out with it (a protocol whose
    // server speaks first): the splice flushes the socket only behind the stream's DATA.
    local.flush();
  }

  private void refuse(IngressOffer offer, LinkStreams.End end, int status, String reason, boolean answered) {
    if (!answered) {
      refuse(offer, end, status, reason);
      return;
    }
    agent.offers().ended(reason);
    end.abandon();
  }

  private void refuse(IngressOffer offer, LinkStreams.End end, int status, String reason) {
    agent.offers().refused(status, reason);
    answerRefusal(offer, end, status, reason);
  }

  /** Ends the stream with the refusal; what the gateway sent or still sends on it is dropped. */
  private void answerRefusal(IngressOffer offer, LinkStreams.End end, int status, String reason) {
    agent.metrics().offer(status);
    if (offer != null) {
      agent.offers().answered(offer.source(), offer.target().port(), status);
    }
    if (!end.isClosed()) {
      end.write(new DefaultHttp2HeadersFrame(IngressAnswer.refuse(status, reason), true));
      end.flush();
    }
    end.discard();
  }

  private static String printable(java.net.SocketAddress address) {
    return address instanceof InetSocketAddress inet ? inet.getHostString() + ":" + inet.getPort() : address.toString();
  }
}
