package dev.funnel.node;

import dev.funnel.common.bus.AliasInfo;
import dev.funnel.common.bus.AliasInfo.State;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * This node's custom domains as the registry last said ({@code Aliases} from the gateway). Prints
 * one line per change: the exact records to publish while an alias is pending (or failed), "alias
 * NAME verified" once it is, and why a name was refused. The verified ones are names the node
 * answers ingress offers for, and that its certificate must cover ({@link #onVerifiedChange}).
 * Any thread; the state is replaced whole.
 */
public final class NodeAliases {

  private static final Logger LOG = System.getLogger(NodeAliases.class.getName());

  private volatile Map<String, AliasInfo> byAlias = Map.of();
  private volatile Set<String> verified = Set.of();
  private final List<Consumer<Set<String>>> listeners = new CopyOnWriteArrayList<>();

  /** Every alias with its state, by name. */
  public List<AliasInfo> all() {
    return List.copyOf(byAlias.values());
  }

  /** The verified aliases (lower case). */
  public Set<String> verified() {
    return verified;
  }

  /** Called with the verified set whenever it changes (on the thread that applied the change). */
  public void onVerifiedChange(Consumer<Set<String>> listener) {
    listeners.add(listener);
  }

  /** The registry's word on every alias of this node. */
  public void update(List<AliasInfo> aliases) {
    Map<String, AliasInfo> next = new TreeMap<>();
    aliases.forEach(a -> next.put(a.alias(), a));
    Map<String, AliasInfo> before = byAlias;
    byAlias = Map.copyOf(next);
    for (AliasInfo a : next.values()) {
      AliasInfo old = before.get(a.alias());
      if (old != null && old.state() == a.state()) {
        continue;
      }
      switch (a.state()) {
        case VERIFIED -> LOG.log(Level.INFO, "alias {0} verified", a.alias());
        case PENDING -> LOG.log(Level.INFO, "alias {0} pending: publish {1} ({2})", a.alias(), a.records(), a.reason());
        case FAILED -> LOG.log(Level.WARNING, "alias {0} failed its re-check and is not routed: {1}; publish {2}",
            a.alias(), a.reason(), a.records());
        case REFUSED -> LOG.log(Level.WARNING, "alias {0} refused by the server: {1}", a.alias(), a.reason());
      }
    }
    before.keySet().stream().filter(name -> !next.containsKey(name))
        .forEach(name -> LOG.log(Level.INFO, "alias {0} removed", name));
    Set<String> nowVerified = next.values().stream().filter(a -> a.state() == State.VERIFIED).map(AliasInfo::alias)
        .collect(Collectors.toUnmodifiableSet());
    if (!nowVerified.equals(verified)) {
      verified = nowVerified;
      listeners.forEach(l -> l.accept(nowVerified));
    }
  }
}
