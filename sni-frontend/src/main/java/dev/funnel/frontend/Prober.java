package dev.funnel.frontend;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.ProbeRequest;
import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.bus.ProbeResult.Outcome;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.net.HostPort;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The frontend's half of {@code funnel status}'s live probe ({@link Addresses#FRONTEND_PROBE}): asks
 * the registry about the name first (so a refusal names its reason), then dials this frontend's own
 * public listener for the port and runs a TLS handshake with the name as SNI, exactly as an outside
 * client would; the connection goes through the whole public path (ClientHello read, resolve,
 * gateway, node) and is closed once the handshake is done. The certificate is not checked, only
 * fingerprinted: the node compares it with its own.
 *
 * <p>Bounded: at most {@link #MAX_CONCURRENT} probes at once per frontend (more are answered
 * RATE_LIMITED), one connection each, a connect and handshake deadline. Only names under this
 * frontend's domain are dialled, and only its own listeners: it cannot be made to dial anything
 * else. The gateway fills the name in from the node's authenticated session.
 */
final class Prober {

  private static final System.Logger LOG = System.getLogger(Prober.class.getName());

  static final int MAX_CONCURRENT = 4;
  static final long DEFAULT_TIMEOUT_MILLIS = 5_000;

  private final Vertx vertx;
  private final String frontendId;
  private final String domain;
  private final Map<Integer, HostPort> listeners;
  private final Supplier<Map<Integer, Integer>> boundPorts;
  private final long timeoutMillis;
  private final NetClient client;
  private int running;

  Prober(Vertx vertx, String frontendId, String domain, Map<Integer, HostPort> listeners,
         Supplier<Map<Integer, Integer>> boundPorts, long timeoutMillis) {
    this.vertx = vertx;
    this.frontendId = frontendId;
    this.domain = domain;
    this.listeners = Map.copyOf(listeners);
    this.boundPorts = boundPorts;
    this.timeoutMillis = timeoutMillis;
    this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout((int) timeoutMillis)
        .setSslHandshakeTimeout(timeoutMillis).setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS));
  }

  /** The event-bus handler: answers every request with a {@link ProbeResult}. */
  void handle(Message<Object> message) {
    if (!(message.body() instanceof ProbeRequest request)) {
      message.reply(ProbeResult.of(Outcome.NO_FRONTEND, "BAD_REQUEST", "not a probe request"));
      return;
    }
    if (running >= MAX_CONCURRENT) {
      message.reply(named(ProbeResult.of(Outcome.RATE_LIMITED, null, "frontend " + frontendId + " is running "
          + MAX_CONCURRENT + " probes already; try again in a moment")));
      return;
    }
    running++;
    probe(request).onComplete(done -> {
      running--;
      message.reply(named(done.succeeded() ? done.result()
          : ProbeResult.of(Outcome.HANDSHAKE_FAILED, null, String.valueOf(done.cause().getMessage()))));
    });
  }

  private ProbeResult named(ProbeResult r) {
    return new ProbeResult(r.outcome(), r.code(), r.detail(), r.millis(), r.fingerprint(), r.source(), frontendId,
        r.dnsListen(), r.dnsAnswers());
  }

  Future<ProbeResult> probe(ProbeRequest request) {
    String fqdn = request.fqdn() == null ? "" : request.fqdn().toLowerCase(Locale.ROOT);
    if (!fqdn.endsWith("." + domain)) {
      return Future.succeededFuture(ProbeResult.of(Outcome.REGISTRY_REFUSED, ResolveFailure.NO_ROUTE.name(),
          fqdn + " is not a name under " + domain));
    }
    HostPort bind = listeners.get(request.port());
    Integer bound = boundPorts.get().get(request.port());
    if (bind == null || bound == null) {
      return Future.succeededFuture(ProbeResult.of(Outcome.FRONTEND_DIAL_FAILED, "NO_LISTENER",
          "frontend " + frontendId + " has no public listener for port " + request.port()));
    }
    DeliveryOptions delivery = new DeliveryOptions().setSendTimeout(timeoutMillis);
    return vertx.eventBus().request(Addresses.REGISTRY_RESOLVE, new ResolveRequest(fqdn, request.port()), delivery)
        .transform(resolved -> {
          if (resolved.failed()) {
            Throwable cause = resolved.cause();
            if (cause instanceof ReplyException re && re.failureType() != ReplyFailure.RECIPIENT_FAILURE) {
              return Future.succeededFuture(ProbeResult.of(Outcome.NO_REGISTRY, re.failureType().name(),
                  "no registry answered the route lookup (" + re.getMessage() + ")"));
            }
            String code = FailureCode.of(cause).flatMap(ResolveFailure::fromCode).map(Enum::name).orElse("ERROR");
            return Future.succeededFuture(ProbeResult.of(Outcome.REGISTRY_REFUSED, code, cause.getMessage()));
          }
          return dial(fqdn, new HostPort(dialHost(bind.host()), bound));
        });
  }

  /** Connects to the listener, then runs the handshake with SNI {@code fqdn}; never fails (a failure is an outcome). */
  private Future<ProbeResult> dial(String fqdn, HostPort listener) {
    long started = System.nanoTime();
    return client.connect(listener.port(), listener.host()).transform(connected -> {
      if (connected.failed()) {
        return Future.succeededFuture(ProbeResult.of(Outcome.FRONTEND_DIAL_FAILED, "CONNECT",
            "cannot connect to the public listener " + listener + ": " + connected.cause().getMessage()));
      }
      NetSocket socket = connected.result();
      String source = socket.localAddress().hostAddress() + ":" + socket.localAddress().port();
      ClientSSLOptions tls = new ClientSSLOptions().setTrustAll(true).setHostnameVerificationAlgorithm("")
          .setSslHandshakeTimeout(timeoutMillis).setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
      return socket.upgradeToSsl(tls, fqdn).transform(handshake -> {
        long millis = Math.max(0, (System.nanoTime() - started) / 1_000_000);
        if (handshake.failed()) {
          socket.close();
          String why = handshake.cause().getMessage() == null ? handshake.cause().getClass().getSimpleName()
              : handshake.cause().getMessage();
          LOG.log(Level.DEBUG, () -> "probe of " + fqdn + " via " + listener + ": handshake failed: " + why);
          return Future.succeededFuture(new ProbeResult(Outcome.HANDSHAKE_FAILED, alert(why), why, millis, null, source,
              null, null, List.of()));
        }
        String fingerprint = null;
        try {
          List<Certificate> chain = socket.peerCertificates();
          fingerprint = chain.isEmpty() ? null : fingerprint(chain.get(0));
        } catch (Exception e) {
          // no certificate: the fingerprint stays null
        }
        socket.close();
        return Future.succeededFuture(new ProbeResult(Outcome.HANDSHAKE_DONE, null,
            "TLS handshake through " + listener + " completed", millis, fingerprint, source, null, null, List.of()));
      });
    });
  }

  void close() {
    client.close();
  }

  /** Where to dial a listener bound to {@code host}: itself, or loopback for a wildcard. */
  static String dialHost(String host) {
    return host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")
        ? "127.0.0.1" : host;
  }

  /** The TLS alert named in a handshake failure's message, upper case, or null. */
  static String alert(String message) {
    String m = message.toLowerCase(Locale.ROOT);
    for (String alert : List.of("unrecognized_name", "handshake_failure", "internal_error", "access_denied")) {
      if (m.contains(alert) || m.contains(alert.replace('_', ' '))) {
        return alert.toUpperCase(Locale.ROOT);
      }
    }
    return null;
  }

  /** SHA-256 of the certificate's DER encoding, lower-case hex. */
  static String fingerprint(Certificate certificate) throws CertificateEncodingException, NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
  }
}
