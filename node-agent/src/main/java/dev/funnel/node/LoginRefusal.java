package dev.funnel.node;

import dev.funnel.common.bus.LoginFailure;

/**
 * What a gateway's {@code Refused(code, message)} to a login means for this node: whether logging
 * in again can succeed by itself ({@code permanent} false: the registry unavailable, a lease it lost,
 * a code this node does not know — the node waits, as for a server it cannot reach), or only after
 * someone acts ({@code permanent}: a bad, revoked or missing auth key, a node or tailnet removed, a
 * name taken or not a label, a node key that does not verify, a protocol the gateway does not
 * speak), and then what the fix is, when the node can say more than the server's message.
 *
 * <p>{@link #of} is pure. It reads the server's message for one case only: {@code BAD_KEY} "an auth
 * key is required for a new node" (the registry holds no node with this node key) from a node that
 * was welcomed before means the node was removed, alone or with its tailnet.
 */
record LoginRefusal(boolean permanent, String reason, String fix) {

  /** The registry's words when no node holds the node key and the login carries no auth key. */
  static final String AUTH_KEY_REQUIRED = "an auth key is required for a new node";
  /** The gateway's code for a protocol version it does not speak. */
  static final String PROTOCOL = "PROTOCOL";

  /**
   * @param enrolled whether this node was welcomed before (in this run, or it has a node key from an
   *                 earlier one)
   * @param name     the node's name as the registry knows it, {@code NODE.TAILNET}, or null when
   *                 this run was never welcomed
   */
  static LoginRefusal of(String code, String message, boolean enrolled, String name) {
    String reason = code + ": " + message;
    LoginFailure failure = knownFailure(code);
    if (failure == null) {
      return new LoginRefusal(PROTOCOL.equals(code), reason, null);
    }
    return switch (failure) {
      case BAD_KEY -> new LoginRefusal(true, reason, badKeyFix(message, enrolled, name));
      case NAME_TAKEN -> new LoginRefusal(true, reason, "pick another --hostname, or remove the node that has the"
          + " name (funnel admin node rm NAME.TAILNET)");
      case BAD_NODE_KEY -> new LoginRefusal(true, reason, "the node key in --state (node-key.pem) does not verify:"
          + " remove the node (funnel admin node rm NAME.TAILNET) and start it with a new --state and --authkey");
      case BAD_REQUEST -> new LoginRefusal(true, reason, null);
      case LEASE_UNKNOWN -> new LoginRefusal(false, reason, null);
    };
  }

  private static LoginFailure knownFailure(String code) {
    for (LoginFailure f : LoginFailure.values()) {
      if (f.name().equals(code)) {
        return f;
      }
    }
    return null;
  }

  private static String badKeyFix(String message, boolean enrolled, String name) {
    if (message != null && message.contains(AUTH_KEY_REQUIRED)) {
      if (!enrolled) {
        return "give --authkey (funnel admin key add --tailnet TAILNET prints one)";
      }
      String node = name != null ? name : "NODE.TAILNET";
      String tailnet = name != null && name.indexOf('.') > 0 ? name.substring(name.indexOf('.') + 1) : "TAILNET";
      return "the server no longer knows this node: it was removed (funnel admin node rm " + node + ") or its"
          + " tailnet was (funnel admin tailnet rm " + tailnet + "); to enrol it again, start it with a new"
          + " --authkey of a tailnet that exists";
    }
    if (message != null && message.contains("--authkey")) {
      return null;   // the registry's message says what to do
    }
    return "check --authkey: funnel admin key add --tailnet TAILNET prints a new key";
  }

  /** The reason and the fix, one line. */
  String line() {
    return fix == null ? reason : reason + "; " + fix;
  }
}
