package dev.funnel.dns.push;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Update;
import org.xbill.DNS.ZoneTransferIn;

/**
 * The I/O with the primary server, through dnsjava: a TSIG-signed RFC 2136 update over TCP
 * ({@link SimpleResolver#sendAsync}, completed on the caller's context), and a TSIG-signed AXFR of
 * the zone ({@link ZoneTransferIn}, which blocks: run on a worker thread). Failures are
 * {@link PushException}s carrying their {@link PushOutcome}.
 */
final class PrimaryClient {

  private final Vertx vertx;
  private final PushOptions options;
  private final InetSocketAddress primary;
  private final TSIG tsig;
  private final SimpleResolver resolver;

  PrimaryClient(Vertx vertx, PushOptions options, InetSocketAddress primary) {
    this.vertx = vertx;
    this.options = options;
    this.primary = primary;
    this.tsig = options.tsig();
    this.resolver = new SimpleResolver(primary);
    resolver.setTCP(true);
    resolver.setTSIGKey(tsig);
    resolver.setTimeout(Duration.ofMillis(options.getUpdateTimeoutMillis()));
  }

  /** The primary as the log names it. */
  String describe() {
    return primary.getAddress().getHostAddress() + ":" + primary.getPort();
  }

  /** Sends {@code update}; succeeds only when the primary answered NOERROR, signed with our key. */
  Future<Void> send(Update update) {
    Context context = vertx.getOrCreateContext();
    Executor onContext = task -> context.runOnContext(v -> task.run());
    return Future.fromCompletionStage(resolver.sendAsync(update, onContext), context).compose(response -> {
      PushOutcome outcome = PushOutcome.of(response, true);
      if (outcome == PushOutcome.PUSHED) {
        return Future.succeededFuture();
      }
      return Future.failedFuture(new PushException(outcome, "the update was answered " + answer(response)));
    }, err -> Future.failedFuture(failure("the update", err)));
  }

  /** Every record of the zone, by AXFR signed with our key (the transfer checks every message's signature). */
  Future<List<Record>> transfer() {
    return vertx.<List<Record>>executeBlocking(() -> {
      ZoneTransferIn xfr = ZoneTransferIn.newAXFR(ManagedRecords.absolute(ManagedRecords.key(options.getZone())),
          primary, tsig);
      xfr.setTimeout(Duration.ofMillis(options.getTransferTimeoutMillis()));
      xfr.run();
      return xfr.getAXFR();
    }, false).recover(err -> Future.failedFuture(failure("the zone transfer", err)));
  }

  private static PushException failure(String what, Throwable err) {
    Throwable root = err;
    while (root.getCause() != null && root.getCause() != root
        && (root instanceof java.util.concurrent.CompletionException || root instanceof java.util.concurrent.ExecutionException)) {
      root = root.getCause();
    }
    if (root instanceof PushException push) {
      return push;
    }
    PushOutcome outcome = PushOutcome.of(root);
    String reason = switch (outcome) {
      case UNREACHABLE -> what + " got no answer (" + root.getClass().getSimpleName()
          + (root.getMessage() == null ? "" : ": " + root.getMessage()) + ")";
      case REFUSED -> what + " was refused (" + root.getMessage() + "): check the TSIG key and the server's ACL";
      default -> what + " failed (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    };
    return new PushException(outcome, reason);
  }

  /** The primary's answer in a few words: its RCODE, and the TSIG error or whether it was signed. */
  static String answer(Message response) {
    StringBuilder out = new StringBuilder(Rcode.string(response.getRcode()));
    if (response.getTSIG() != null && response.getTSIG().getError() != Rcode.NOERROR) {
      out.append(" (TSIG ").append(Rcode.TSIGstring(response.getTSIG().getError())).append(')');
    } else if (response.getRcode() == Rcode.NOERROR && !response.isVerified()) {
      out.append(" without a valid signature by our key");
    }
    return switch (response.getRcode()) {
      case Rcode.REFUSED, Rcode.NOTAUTH -> out + ": check the TSIG key and the server's update ACL";
      case Rcode.NOTZONE -> out + ": the server does not hold that zone";
      default -> out.toString();
    };
  }
}
