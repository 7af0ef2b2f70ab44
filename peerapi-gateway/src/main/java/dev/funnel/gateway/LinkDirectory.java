package dev.funnel.gateway;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The node sessions of one gateway as the data plane sees them: by session id (a link connection
 * presents it) and by node (an open names it). The verticle puts a session in at login and takes
 * it out when it ends; loops read it.
 */
final class LinkDirectory {

  private final ConcurrentMap<String, NodeLinks> bySession = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, NodeLinks> byNode = new ConcurrentHashMap<>();

  void put(NodeLinks links) {
    bySession.put(links.sessionId, links);
    byNode.put(links.nodeId, links);
  }

  void remove(NodeLinks links) {
    bySession.remove(links.sessionId, links);
    byNode.remove(links.nodeId, links);
    links.end();
  }

  Optional<NodeLinks> bySession(String sessionId) {
    return Optional.ofNullable(bySession.get(sessionId));
  }

  Optional<NodeLinks> byNode(String nodeId) {
    return Optional.ofNullable(byNode.get(nodeId));
  }

  /** Link connections of every session (for the gauge). */
  int connections() {
    int n = 0;
    for (NodeLinks links : bySession.values()) {
      n += links.size();
    }
    return n;
  }
}
