package dev.funnel.registry;

import static dev.funnel.registry.Refusals.refusal;
import static dev.funnel.registry.Refusals.refuse;

import dev.funnel.common.Hostnames;
import dev.funnel.common.PublicPorts;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.Enrolment;
import dev.funnel.registry.store.NodeIdentity;
import io.vertx.core.Future;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Admits a node ({@link Addresses#REGISTRY_LOGIN}): checks the request, verifies the node key's
 * proof, finds or enrols its identity, and records its new session.
 */
final class NodeLogins {

  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  private final RegistryState state;
  private final Withdrawals withdrawals;
  private final NodeViews views;

  NodeLogins(RegistryState state, Withdrawals withdrawals, NodeViews views) {
    this.state = state;
    this.withdrawals = withdrawals;
    this.views = views;
  }

  /** See {@link RegistryService#login}. */
  Future<NodeSession> login(NodeLogin login) {
    String where = "login of " + login.hostname() + " via " + login.gatewayId();
    String bad = badLogin(login);
    if (bad != null) {
      return refuse(where, LoginFailure.BAD_REQUEST, bad);
    }
    List<Integer> ports = PublicPorts.sorted(Set.copyOf(login.ports()));
    return state.blocking(() -> {
      NodeProof.Result proof = NodeProof.verify(login.nodePublicKey(), login.challenge(), login.proof());
      if (proof instanceof NodeProof.Failed failed) {
        throw refusal(where, LoginFailure.BAD_NODE_KEY, failed.reason());
      }
      String publicKey = ((NodeProof.Verified) proof).publicKey();
      synchronized (state.writeLock) {
        NodeIdentity node = identify(where, login, publicKey);
        Live session = new Live(node.id(), node.fqdn(state.domain), login.gatewayId(), state.nextEpoch(), ports,
            System.currentTimeMillis() + state.options.getLeaseMillis());
        List<Live> displaced = state.awaitTable(state.sessions.put(session));
        displaced.forEach(withdrawals::withdrawn);
        withdrawals.routeChanged(session.fqdn());
        LOG.log(Level.INFO, "node {0} logged in via {1} (epoch {2}, ports {3})", session.fqdn(),
            session.gatewayId(), session.epoch(), ports);
        Map<Integer, String> refused = views.refusedPorts(node.tailnet(), ports);
        if (!refused.isEmpty()) {
          LOG.log(Level.INFO, "node {0}: ports not routed: {1}", session.fqdn(), refused);
        }
        return new NodeSession(node.id(), session.fqdn(), node.tailnet(), session.epoch(), ports,
            state.options.getLeaseMillis(), refused);
      }
    });
  }

  /** The identity logging in: the one holding that node key, or a new one enrolled with the auth key. Holds writeLock. */
  private NodeIdentity identify(String where, NodeLogin login, String publicKey) {
    Optional<NodeIdentity> existing = state.store.nodeByPublicKey(publicKey);
    if (existing.isPresent()) {
      NodeIdentity node = existing.get();
      if (!node.name().equals(login.hostname())) {
        throw refusal(where, LoginFailure.BAD_REQUEST, "this node key is registered as " + node.shortName()
            + "; log in with hostname " + node.name() + " (or remove the node first)");
      }
      Optional<AuthKeyInfo> key = state.store.key(node.keyId());
      if (key.isEmpty() || key.get().revoked()) {
        return enrolAgain(where, login, node);
      }
      return node;
    }
    if (login.authKey() == null || login.authKey().isEmpty()) {
      // The store keeps nothing of a removed node or tailnet, so this cannot say which it was.
      throw refusal(where, LoginFailure.BAD_KEY, "an auth key is required for a new node (no node has this node"
          + " key: it never enrolled, or it was removed, alone or with its tailnet)");
    }
    Enrolment result = state.store.enrol(Secrets.hash(login.authKey()), Secrets.newNodeId(), login.hostname(),
        publicKey, RegistryState.now());
    if (result instanceof Enrolment.KeyRefused refused) {
      throw refusal(where, LoginFailure.BAD_KEY, refused.reason());
    }
    if (result instanceof Enrolment.NameTaken taken) {
      throw refusal(where, LoginFailure.NAME_TAKEN, taken.owner().shortName() + " is already owned by another node");
    }
    NodeIdentity node = ((Enrolment.Enrolled) result).node();
    state.snapshot(state.snapshot().withNode(node));
    state.publishControlChanged();
    LOG.log(Level.INFO, "node {0} enrolled as {1} with auth key {2}", node.shortName(), node.id(), node.keyId());
    return node;
  }

  /**
   * A node whose enrolment key was revoked logs in: refused, unless the login carries another auth key
   * (the node was started with a new {@code --authkey}) that could enrol a new node in the node's
   * tailnet, which then becomes the node's key. The same as {@code node rm} and enrolling again with
   * that key, but the node keeps its identity. A node that was welcomed sends no auth key again in
   * that run, so only its owner restarting it with a key re-enrols it. Holds writeLock.
   */
  private NodeIdentity enrolAgain(String where, NodeLogin login, NodeIdentity node) {
    String revoked = "the auth key " + node.keyId() + " this node (" + node.shortName() + ") enrolled with was revoked";
    String fix = "start it with a new --authkey of tailnet " + node.tailnet() + " to enrol it again (funnel admin key"
        + " add --tailnet " + node.tailnet() + "), or remove it: funnel admin node rm " + node.shortName();
    if (login.authKey() == null || login.authKey().isEmpty()) {
      throw refusal(where, LoginFailure.BAD_KEY, revoked + ": " + fix);
    }
    Enrolment again = state.store.reenrol(Secrets.hash(login.authKey()), node.id(), RegistryState.now());
    if (again instanceof Enrolment.KeyRefused refused) {
      throw refusal(where, LoginFailure.BAD_KEY, revoked + ", and the auth key given cannot enrol it again ("
          + refused.reason() + "): " + fix);
    }
    NodeIdentity enrolled = ((Enrolment.Enrolled) again).node();
    state.snapshot(state.snapshot().withNode(enrolled));
    state.publishControlChanged();
    LOG.log(Level.INFO, "node {0} enrolled again with auth key {1} (its key {2} was revoked)", node.shortName(),
        enrolled.keyId(), node.keyId());
    return enrolled;
  }

  /** Why a login is malformed, or null. */
  static String badLogin(NodeLogin login) {
    if (!Hostnames.isLabel(login.hostname())) {
      return "hostname '" + login.hostname() + "' is not a DNS label (" + Hostnames.LABEL_RULE + ")";
    }
    String badPort = NodeSessions.badPort(login.ports());
    if (badPort != null) {
      return badPort;
    }
    if (login.gatewayId() == null || login.gatewayId().isEmpty()) {
      return "gatewayId is required";
    }
    if (login.nodePublicKey() == null || login.nodePublicKey().isEmpty()) {
      return "nodePublicKey is required";
    }
    if (login.challenge() == null || login.challenge().isEmpty()) {
      return "challenge is required";
    }
    if (login.proof() == null || login.proof().isEmpty()) {
      return "proof is required";
    }
    return null;
  }
}
