package dev.funnel.launcher;

import dev.funnel.common.Hostnames;
import java.util.Locale;

/**
 * {@code funnel node --hostname}, checked before anything starts by the rule the registry applies
 * to a login ({@link Hostnames#isLabel}): a name the server would refuse is a usage error here, not a
 * JVM started, a gateway dialled and a refusal later. Upper case is refused too (the registry's names
 * are lower case, as {@code funnel admin tailnet add} insists), with the lower-case spelling to use.
 */
final class NodeHostname {

  private NodeHostname() {
  }

  /** Why {@code given} cannot be a node's name, one line for {@code funnel node: …}; null when it can. Pure. */
  static String problem(String given) {
    if (Hostnames.isLabel(given)) {
      return null;
    }
    String why = "--hostname " + (given.isEmpty() ? "''" : given) + ": not a DNS label (" + Hostnames.LABEL_RULE + ")";
    String lower = given.toLowerCase(Locale.ROOT);
    if (given.chars().allMatch(c -> c < 0x80) && Hostnames.isLabel(lower)) {
      return why + "; use lowercase: " + lower;
    }
    if (given.indexOf('.') > 0 && Hostnames.normalise(given).isPresent()) {
      return why + "; give one label: the public name is NAME.TAILNET.DOMAIN, the tailnet coming from the auth key";
    }
    return why;
  }
}
