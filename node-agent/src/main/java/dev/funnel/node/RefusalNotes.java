package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import java.lang.System.Logger.Level;

/**
 * What the node keeps of the server's refusals across its slots: its name as the registry knows it
 * (for the fixes {@link LoginRefusal} names) and the permanent refusal last said at ERROR, so that it
 * is said once for the node, not per slot or attempt, and so is its end (the server takes the node
 * again). Used on the agent's event loop by {@link SessionSlots}.
 */
final class RefusalNotes {

  private static final System.Logger LOG = System.getLogger(NodeAgentVerticle.class.getName());

  /** NODE.TAILNET, from the last first Welcome of a slot; null before. */
  private String name;
  /** The permanent refusal last said at ERROR; null since a Welcome. */
  private String logged;

  /** A slot's first Welcome came: the node is taken (again). */
  void welcomed(String fqdn) {
    name = shortName(fqdn);
    if (logged != null) {
      LOG.log(Level.INFO, "the server takes this node again (it had refused it: {0})", logged);
      logged = null;
    }
  }

  /** What a gateway's Refused means for this node now ({@link LoginRefusal#of}). */
  LoginRefusal judge(Refused r, boolean everWelcomed) {
    return LoginRefusal.of(r.code(), r.message(), everWelcomed, name);
  }

  /** Refused for good after the node was up: one ERROR with the fix per refusal, DEBUG for each retry after. */
  void refusedForGood(HostPort server, LoginRefusal refused, HostPort next, long delayMillis) {
    if (!refused.line().equals(logged)) {
      logged = refused.line();
      LOG.log(Level.ERROR, "the server {0} refused this node: {1}; it cannot log in until that is fixed (trying"
          + " again every {2} s)", server, refused.line(), Long.toString(delayMillis / 1000));
    } else {
      LOG.log(Level.DEBUG, "the server {0} refused this node again: {1}; trying {2} in {3} ms", server,
          refused.line(), next, delayMillis);
    }
  }

  /** {@code NODE.TAILNET} of a public name {@code NODE.TAILNET.DOMAIN}; null for null. Pure. */
  static String shortName(String fqdn) {
    if (fqdn == null) {
      return null;
    }
    int first = fqdn.indexOf('.');
    int second = first < 0 ? -1 : fqdn.indexOf('.', first + 1);
    return second < 0 ? fqdn : fqdn.substring(0, second);
  }
}
