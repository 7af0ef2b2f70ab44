package dev.funnel.dns;

import dev.funnel.common.bus.NameStatus;
import java.util.List;
import java.util.Map;

/**
 * Everything {@link Answers#decide} reads, as one immutable value: the fixed {@link Zone}, its
 * current SOA serial, the registry's word on the names this query needs (keys: lower case, no
 * trailing dot; a name {@link Answers#lookups} asked for and that is missing here could not be looked
 * up), and the {@code _acme-challenge} TXT values.
 */
public record ZoneSnapshot(Zone zone, long serial, Map<String, NameStatus> names, Map<String, List<String>> challenges) {

  public ZoneSnapshot {
    names = Map.copyOf(names);
    challenges = Map.copyOf(challenges);
  }
}
