package dev.funnel.registry;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which gateway holds each node's session right now: in memory only (live routes are rebuilt from
 * node reconnects). A node may hold sessions on up to {@link #MAX_GATEWAYS_PER_NODE} gateways; the
 * newest live one (highest epoch) serves. Each node's list is immutable and replaced atomically
 * ({@link ConcurrentHashMap#compute}), so any thread may read or change it. Time is passed in, so
 * the class is deterministic under test.
 */
final class LiveSessions {

  /** A node with more sessions than this loses its oldest when a new one arrives. */
  static final int MAX_GATEWAYS_PER_NODE = 2;

  /** One live session: {@code gatewayId} holds {@code nodeId}'s control channel, epoch {@code epoch}. */
  record Live(String nodeId, String fqdn, String gatewayId, long epoch, List<Integer> ports, long expiresAt) {
    Live {
      ports = List.copyOf(ports);
    }

    boolean liveAt(long now) {
      return now < expiresAt;
    }

    boolean is(String gateway, long ep) {
      return gatewayId.equals(gateway) && epoch == ep;
    }
  }

  private static final Comparator<Live> NEWEST_FIRST = Comparator.comparingLong(Live::epoch).reversed();

  private final ConcurrentHashMap<String, List<Live>> byNode = new ConcurrentHashMap<>();

  /**
   * Records {@code session}, replacing any session of that node on the same gateway and, past the
   * cap, the oldest others. Returns the sessions it displaced.
   */
  List<Live> put(Live session) {
    List<Live> displaced = new ArrayList<>();
    byNode.compute(session.nodeId(), (id, current) -> {
      List<Live> next = new ArrayList<>();
      next.add(session);
      if (current != null) {
        for (Live l : current) {
          if (l.gatewayId().equals(session.gatewayId())) {
            displaced.add(l);
          } else {
            next.add(l);
          }
        }
      }
      next.sort(NEWEST_FIRST);
      while (next.size() > MAX_GATEWAYS_PER_NODE) {
        displaced.add(next.remove(next.size() - 1));
      }
      return List.copyOf(next);
    });
    return displaced;
  }

  /** The node's sessions that are live at {@code now}, newest first; empty list when offline. */
  List<Live> live(String nodeId, long now) {
    List<Live> all = byNode.get(nodeId);
    return all == null ? List.of() : all.stream().filter(l -> l.liveAt(now)).toList();
  }

  /** The session that serves the node at {@code now}: its newest live one. */
  Optional<Live> newestLive(String nodeId, long now) {
    List<Live> all = byNode.get(nodeId);
    if (all != null) {
      for (Live l : all) {
        if (l.liveAt(now)) {
          return Optional.of(l);
        }
      }
    }
    return Optional.empty();
  }

  /** Extends a live session's lease to {@code expiresAt}; empty when there is no such live session. */
  Optional<Live> renew(String nodeId, String gatewayId, long epoch, long now, long expiresAt) {
    return replace(nodeId, gatewayId, epoch, now, l -> new Live(l.nodeId(), l.fqdn(), l.gatewayId(), l.epoch(),
        l.ports(), expiresAt));
  }

  /** Sets a live session's ports (and extends its lease); empty when there is no such live session. */
  Optional<Live> updatePorts(String nodeId, String gatewayId, long epoch, List<Integer> ports, long now,
                             long expiresAt) {
    return replace(nodeId, gatewayId, epoch, now, l -> new Live(l.nodeId(), l.fqdn(), l.gatewayId(), l.epoch(),
        ports, expiresAt));
  }

  private Optional<Live> replace(String nodeId, String gatewayId, long epoch, long now,
                                 java.util.function.UnaryOperator<Live> change) {
    Live[] result = new Live[1];
    byNode.computeIfPresent(nodeId, (id, current) -> {
      List<Live> next = new ArrayList<>(current.size());
      for (Live l : current) {
        if (l.is(gatewayId, epoch) && l.liveAt(now)) {
          result[0] = change.apply(l);
          next.add(result[0]);
        } else {
          next.add(l);
        }
      }
      return List.copyOf(next);
    });
    return Optional.ofNullable(result[0]);
  }

  /** Removes the session (nodeId, gatewayId, epoch); empty when there was none. */
  Optional<Live> remove(String nodeId, String gatewayId, long epoch) {
    Live[] removed = new Live[1];
    byNode.computeIfPresent(nodeId, (id, current) -> {
      List<Live> next = new ArrayList<>(current.size());
      for (Live l : current) {
        if (l.is(gatewayId, epoch)) {
          removed[0] = l;
        } else {
          next.add(l);
        }
      }
      return next.isEmpty() ? null : List.copyOf(next);
    });
    return Optional.ofNullable(removed[0]);
  }

  /** Removes every session of the node; returns them. */
  List<Live> removeNode(String nodeId) {
    List<Live> removed = byNode.remove(nodeId);
    return removed == null ? List.of() : removed;
  }

  /** Removes every session whose lease lapsed by {@code now}; returns them. */
  List<Live> sweep(long now) {
    List<Live> expired = new ArrayList<>();
    for (String nodeId : byNode.keySet()) {
      byNode.computeIfPresent(nodeId, (id, current) -> {
        List<Live> next = new ArrayList<>(current.size());
        for (Live l : current) {
          if (l.liveAt(now)) {
            next.add(l);
          } else {
            expired.add(l);
          }
        }
        return next.isEmpty() ? null : List.copyOf(next);
      });
    }
    return expired;
  }

  /** How many sessions are held (live or not yet swept). */
  int size() {
    return byNode.values().stream().mapToInt(List::size).sum();
  }
}
