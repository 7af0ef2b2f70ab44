package dev.funnel.registry.alias;

import dev.funnel.common.bus.AliasInfo.State;
import java.util.List;
import java.util.Locale;

/**
 * The decision of one alias check, pure: what the resolver said ({@link Lookup}) against what the
 * alias must show (its token in a TXT record at {@code _funnel-challenge.ALIAS}, and a CNAME from
 * ALIAS to the node's public name), and the state that follows. No DNS, no clock, no logging.
 */
public final class AliasCheck {

  /** Lookups that fail (timeout, SERVFAIL) this many times in a row stop a verified alias's routing. */
  public static final int MAX_INCONCLUSIVE = 3;

  private AliasCheck() {
  }

  /**
   * What the resolver answered. {@code txt}: every TXT string at {@code _funnel-challenge.ALIAS}
   * (each record's strings joined, as RFC 7208 does); {@code cnames}: the CNAME targets of ALIAS
   * (normally one); {@code error}: the lookup itself failed (timeout, SERVFAIL, no resolver), null
   * when both questions were answered (NXDOMAIN and NODATA are answers: nothing there).
   */
  public record Lookup(List<String> txt, List<String> cnames, String error) {
    public Lookup {
      txt = txt == null ? List.of() : List.copyOf(txt);
      cnames = cnames == null ? List.of() : List.copyOf(cnames);
    }

    public static Lookup failed(String error) {
      return new Lookup(List.of(), List.of(), error);
    }
  }

  /** A check's outcome: proven ({@code verified}), disproven, or {@code inconclusive} (the lookup failed); and why. */
  public record Outcome(boolean verified, boolean inconclusive, String reason) {
  }

  /** The state after a check, with the reason to record. */
  public record Next(State state, String reason) {
  }

  /**
   * Judges a lookup of {@code alias}: Funnel must be on for its tailnet, the token must be one of the
   * TXT values, and one CNAME target must be {@code target} (case and a trailing dot ignored).
   */
  public static Outcome judge(String alias, String token, String target, boolean funnelOn, Lookup lookup) {
    if (!funnelOn) {
      return new Outcome(false, false, "Funnel is off for the node's tailnet");
    }
    if (lookup.error() != null) {
      return new Outcome(false, true, "DNS lookup failed: " + lookup.error());
    }
    boolean txt = lookup.txt().contains(token);
    String want = canonical(target);
    boolean cname = lookup.cnames().stream().map(AliasCheck::canonical).anyMatch(want::equals);
    if (txt && cname) {
      return new Outcome(true, false, "TXT and CNAME found");
    }
    StringBuilder why = new StringBuilder();
    if (!txt) {
      why.append("no TXT \"").append(token).append("\" at _funnel-challenge.").append(alias)
          .append(lookup.txt().isEmpty() ? " (no TXT there)" : " (found " + lookup.txt().size() + " other)");
    }
    if (!cname) {
      if (!why.isEmpty()) {
        why.append("; ");
      }
      why.append(alias).append(" has no CNAME to ").append(want)
          .append(lookup.cnames().isEmpty() ? " (no CNAME there)" : " (CNAME to " + canonical(lookup.cnames().get(0)) + ")");
    }
    return new Outcome(false, false, why.toString());
  }

  /**
   * The state after an outcome: verified when proven; a disproven verified alias fails (routing
   * stops); a pending one stays pending and a failed one failed. An inconclusive check keeps the
   * state until {@link #MAX_INCONCLUSIVE} in a row ({@code inconclusiveInARow} counts this one),
   * then a verified alias fails too.
   */
  public static Next next(State current, Outcome outcome, int inconclusiveInARow) {
    if (outcome.verified()) {
      return new Next(State.VERIFIED, outcome.reason());
    }
    if (outcome.inconclusive() && inconclusiveInARow < MAX_INCONCLUSIVE) {
      return new Next(current, outcome.reason() + " (" + inconclusiveInARow + " in a row; state kept)");
    }
    return new Next(current == State.VERIFIED || current == State.FAILED ? State.FAILED : State.PENDING,
        outcome.reason());
  }

  /**
   * How long until the next check: {@code interval} for a verified alias; otherwise 2 s doubling with
   * each unproven check in a row ({@code attempts}, from 0), up to {@code interval}.
   */
  public static long delayMillis(State state, int attempts, long intervalMillis) {
    if (state == State.VERIFIED) {
      return intervalMillis;
    }
    long delay = 2_000L << Math.min(Math.max(attempts, 0), 20);
    return Math.min(delay, intervalMillis);
  }

  private static String canonical(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }
}
