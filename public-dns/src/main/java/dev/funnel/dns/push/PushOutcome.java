package dev.funnel.dns.push;

import io.vertx.core.eventbus.ReplyException;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.ZoneTransferException;

/**
 * How one push ended: the bounded {@code outcome} label of {@code funnel_dns_push_total}, and the
 * failure kinds the pusher logs once each. {@link #of(Message)} and {@link #of(Throwable)} classify
 * the primary's answers and the errors on the way; pure.
 */
public enum PushOutcome {
  /** Changes were sent and the primary accepted every update (signed answers, NOERROR). */
  PUSHED,
  /** The zone already held what it should: nothing sent. */
  UNCHANGED,
  /** No answer from the primary: connection refused or reset, timeout. */
  UNREACHABLE,
  /** The primary refused us: REFUSED, NOTAUTH or a TSIG error (wrong key, secret or clock), or an answer not signed with our key. */
  REFUSED,
  /** The primary answered with another error (FORMERR, SERVFAIL, NOTZONE, …) or something that is not DNS. */
  REJECTED,
  /** The registry did not say which names are routable (not reached, or too slow): nothing was sent. */
  NO_REGISTRY;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean failed() {
    return this != PUSHED && this != UNCHANGED;
  }

  /** The outcome of an update answered by {@code response}: PUSHED only for NOERROR with our signature verified. */
  public static PushOutcome of(Message response, boolean signed) {
    int rcode = response.getRcode();
    TSIGRecord tsig = response.getTSIG();
    if (tsig != null && tsig.getError() != Rcode.NOERROR) {
      return REFUSED;
    }
    if (rcode == Rcode.REFUSED || rcode == Rcode.NOTAUTH) {
      return REFUSED;
    }
    if (rcode != Rcode.NOERROR) {
      return REJECTED;
    }
    return signed && !response.isVerified() ? REFUSED : PUSHED;
  }

  /** The outcome of an update that failed with {@code error} on the way (transport, transfer, event bus). */
  public static PushOutcome of(Throwable error) {
    Throwable e = error;
    while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof PushException push) {
      return push.outcome();
    }
    if (e instanceof ReplyException) {
      return NO_REGISTRY;
    }
    if (e instanceof ZoneTransferException) {
      // dnsjava's transfer fails with the RCODE's name or "TSIG failure: …".
      String message = String.valueOf(e.getMessage());
      return message.startsWith("TSIG") || message.equals(Rcode.string(Rcode.NOTAUTH))
          || message.equals(Rcode.string(Rcode.REFUSED)) ? REFUSED : REJECTED;
    }
    if (e instanceof org.xbill.DNS.WireParseException) {
      return REJECTED;
    }
    if (e instanceof IOException) {
      return UNREACHABLE;
    }
    return REJECTED;
  }
}
