package dev.funnel.registry;

import dev.funnel.common.Hostnames;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.AliasInfo;
import dev.funnel.common.bus.AliasInfo.State;
import dev.funnel.common.bus.AliasStatus;
import dev.funnel.common.bus.VerifiedAliases;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.alias.AliasCheck;
import dev.funnel.registry.alias.DnsAliasLookup;
import dev.funnel.registry.store.AliasRecord;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Custom domains (aliases): a node's owner asks for {@code blog.example.com} (the node's
 * {@code --domain-alias}, or the admin API), gets a token, publishes {@code _funnel-challenge.ALIAS
 * TXT token} and {@code ALIAS CNAME NODE.TAILNET.DOMAIN}; {@link #tick} checks both through the
 * configured resolver ({@link AliasChecker}) and only a verified alias is in {@link #verified()}, the set frontends route.
 * Verified aliases are re-checked every {@code aliasCheckInterval}; unproven ones sooner (2 s,
 * doubling, up to the interval). A failed re-check takes the alias out of the set at once.
 *
 * <p>Several nodes may claim one alias, each with its own token: only the node the alias's CNAME
 * points at can ever prove it, so a claim made first blocks nobody (no squatting of names one does
 * not control); once one claim is verified, new claims of that alias by other nodes are refused.
 *
 * <p>State: an immutable map of claims (key: alias and node id) replaced under {@link #lock}; store calls from workers only. Lookups
 * run on workers, at most {@code maxAliasLookups} at once. Every registry of a cluster checks (a
 * state change is written to the shared store and the others reload it).
 */
public final class AliasService {

  private static final Logger LOG = System.getLogger(AliasService.class.getName());
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Vertx vertx;
  private final RegistryOptions options;
  private final RegistryState registry;
  private final DnsAliasLookup lookup;
  private final AliasChecker checker;
  private final Object lock = new Object();
  /** Every claim by {@link #key}. */
  private volatile Map<String, AliasRecord> byAlias = Map.of();
  /** Names a node asked for that were not taken, with why (answered to the node, never stored). */
  private final Map<String, List<AliasInfo>> refusedByNode = new ConcurrentHashMap<>();
  private volatile VerifiedAliases published = VerifiedAliases.NONE;

  AliasService(Vertx vertx, RegistryOptions options, RegistryState registry) {
    this.vertx = vertx;
    this.options = options;
    this.registry = registry;
    this.lookup = options.getAliasResolver() == null ? null
        : new DnsAliasLookup(options.getAliasResolver(), options.getAliasLookupTimeoutMillis());
    this.checker = new AliasChecker(vertx, options, this, lookup);
  }

  // ---------------------------------------------------------------- reading

  /** Every alias with its state, sorted by alias. */
  public List<AliasInfo> list() {
    return byAlias.values().stream().map(this::info)
        .sorted(java.util.Comparator.comparing(AliasInfo::alias).thenComparing(a -> String.valueOf(a.node()))).toList();
  }

  /** The aliases of node {@code nodeId}: stored ones, then names it asked for that were refused. */
  public AliasStatus statusOf(String nodeId) {
    List<AliasInfo> out = new ArrayList<>(byAlias.values().stream().filter(a -> a.nodeId().equals(nodeId))
        .map(this::info).sorted(java.util.Comparator.comparing(AliasInfo::alias)).toList());
    out.addAll(refusedByNode.getOrDefault(nodeId, List.of()));
    return new AliasStatus(nodeId, out);
  }

  /**
   * Every alias routed now → its node's public name: verified, and its tailnet has Funnel on (a
   * tailnet turned off stops its aliases at once, before the next check says so).
   */
  public VerifiedAliases verified() {
    Map<String, String> out = new TreeMap<>();
    for (AliasRecord a : byAlias.values()) {
      if (!AliasRecord.VERIFIED.equals(a.state())) {
        continue;
      }
      boolean on = registry.tailnetNow(a.tailnet()).map(Tailnet::funnel).orElse(false);
      Optional<NodeIdentity> node = registry.nodeById(a.nodeId());
      if (on && node.isPresent() && out.putIfAbsent(a.alias(), node.get().fqdn(registry.domain)) != null) {
        // Two proven claims: only while DNS moved between two checks (one CNAME names one node). The first keeps it.
        LOG.log(Level.WARNING, "alias {0} is verified for two nodes; routing it to {1} until the next check",
            a.alias(), out.get(a.alias()));
      }
    }
    return new VerifiedAliases(out);
  }

  /** Counts by state (metrics). */
  long count(String state) {
    return byAlias.values().stream().filter(a -> a.state().equals(state)).count();
  }

  /** Checks done, by result ({@code verified}, {@code unproven}, {@code lookup_failed}) (metrics). */
  AtomicInteger checks(String result) {
    return checker.checks(result);
  }

  /** The periodic checks; {@link RegistryVerticle} ticks it. */
  public AliasChecker checker() {
    return checker;
  }

  private AliasInfo info(AliasRecord a) {
    Optional<NodeIdentity> node = registry.nodeById(a.nodeId());
    return new AliasInfo(a.alias(), a.tailnet(), node.map(NodeIdentity::name).orElse(null),
        node.map(n -> n.fqdn(registry.domain)).orElse(null), a.token(), stateOf(a.state()), a.reason(),
        a.checkedAt() == null ? 0 : a.checkedAt().toEpochMilli(), a.origin());
  }

  private static State stateOf(String stored) {
    return switch (stored) {
      case AliasRecord.VERIFIED -> State.VERIFIED;
      case AliasRecord.FAILED -> State.FAILED;
      default -> State.PENDING;
    };
  }

  // ---------------------------------------------------------------- changing

  /**
   * Adds {@code alias} for node {@code node} of {@code tailnet} (the admin API). Idempotent for the
   * same node; fails with {@link AdminException} for a bad name, an unknown node, a name held by
   * another node, or a limit reached.
   */
  public Future<AliasInfo> add(String tailnet, String node, String alias) {
    Optional<NodeIdentity> identity = registry.node(node, tailnet);
    if (identity.isEmpty()) {
      return Future.failedFuture(AdminException.notFound("no node " + node + "." + tailnet));
    }
    return vertx.executeBlocking(() -> info(addBlocking(identity.get(), alias, AliasRecord.ORIGIN_ADMIN)), false)
        .onSuccess(added -> changed(Set.of(identity.get().id())));
  }

  /**
   * Forgets {@code alias}: every node's claim, or only node {@code node} of {@code tailnet}'s when
   * both are given; routing through it stops at once. Returns the claims removed.
   */
  public Future<List<AliasInfo>> remove(String alias, String tailnet, String node) {
    String name = Hostnames.normalise(alias).orElse(alias);
    Optional<String> only = node == null ? Optional.empty()
        : Optional.of(registry.node(node, tailnet).map(NodeIdentity::id)
            .orElseThrow(() -> AdminException.notFound("no node " + node + "." + tailnet)));
    return vertx.executeBlocking(() -> {
      synchronized (lock) {
        List<AliasInfo> removed = new ArrayList<>();
        Set<String> nodes = new java.util.HashSet<>();
        Map<String, AliasRecord> next = new TreeMap<>(byAlias);
        for (AliasRecord claim : byAlias.values()) {
          if (!claim.alias().equals(name) || only.isPresent() && !only.get().equals(claim.nodeId())) {
            continue;
          }
          registry.store.deleteAlias(claim.alias(), claim.nodeId());
          next.remove(key(claim));
          removed.add(info(claim));
          nodes.add(claim.nodeId());
          LOG.log(Level.INFO, "alias {0} of node {1} removed", name, claim.nodeId());
        }
        if (removed.isEmpty()) {
          throw AdminException.notFound("no alias " + name + (node == null ? "" : " for " + node + "." + tailnet));
        }
        byAlias = Map.copyOf(next);
        return new Object[] {removed, nodes};
      }
    }, false).map(pair -> {
      registry.publishControlChanged();
      @SuppressWarnings("unchecked")
      Set<String> nodes = (Set<String>) pair[1];
      changed(nodes);
      @SuppressWarnings("unchecked")
      List<AliasInfo> removed = (List<AliasInfo>) pair[0];
      return removed;
    });
  }

  /**
   * A node logged in asking for exactly {@code names} ({@code --domain-alias}): adds the new ones,
   * drops the ones it asked for before and no longer does (aliases the admin added stay). Names that
   * cannot be taken are remembered with why, for the node's status. Never fails the login: a store
   * failure is logged.
   */
  public Future<Void> syncFromNode(String nodeId, List<String> names) {
    if (names == null) {
      return Future.succeededFuture();
    }
    Optional<NodeIdentity> node = registry.nodeById(nodeId);
    if (node.isEmpty()) {
      return Future.succeededFuture();
    }
    List<String> asked = names.stream().limit(Math.max(options.getMaxAliasesPerNode(), 1) * 2L).toList();
    return vertx.executeBlocking(() -> {
      List<AliasInfo> refused = new ArrayList<>();
      Set<String> wanted = new java.util.HashSet<>();
      for (String raw : asked) {
        Optional<String> name = Hostnames.alias(raw, registry.domain);
        name.ifPresent(wanted::add);
        try {
          addBlocking(node.get(), raw, AliasRecord.ORIGIN_NODE);
        } catch (AdminException e) {
          refused.add(new AliasInfo(name.orElse(printable(raw)), node.get().tailnet(), node.get().name(),
              node.get().fqdn(registry.domain), null, State.REFUSED, e.getMessage(), 0, AliasRecord.ORIGIN_NODE));
        }
      }
      synchronized (lock) {
        for (AliasRecord a : byAlias.values()) {
          if (a.nodeId().equals(nodeId) && AliasRecord.ORIGIN_NODE.equals(a.origin()) && !wanted.contains(a.alias())) {
            registry.store.deleteAlias(a.alias(), nodeId);
            Map<String, AliasRecord> next = new TreeMap<>(byAlias);
            next.remove(key(a));
            byAlias = Map.copyOf(next);
            LOG.log(Level.INFO, "alias {0} dropped: node {1} no longer asks for it", a.alias(), node.get().shortName());
          }
        }
      }
      if (refused.isEmpty()) {
        refusedByNode.remove(nodeId);
      } else {
        refusedByNode.put(nodeId, List.copyOf(refused));
      }
      return null;
    }, false).<Void>mapEmpty()
        .onSuccess(v -> changed(Set.of(nodeId)))
        .recover(err -> {
          LOG.log(Level.WARNING, "aliases of node " + nodeId + " not updated: " + err);
          return Future.succeededFuture();
        });
  }

  /** Adds one alias (worker thread); returns it, or the existing record when the node already has it. */
  private AliasRecord addBlocking(NodeIdentity node, String raw, String origin) {
    String name = Hostnames.alias(raw, registry.domain).orElseThrow(() -> AdminException.badRequest(
        "alias '" + printable(raw) + "' is not a host name outside " + registry.domain
            + " (lower-case labels, at least two)"));
    synchronized (lock) {
      AliasRecord existing = byAlias.get(key(name, node.id()));
      if (existing != null) {
        return existing;
      }
      boolean provenElsewhere = byAlias.values().stream().anyMatch(a -> a.alias().equals(name)
          && !a.nodeId().equals(node.id()) && AliasRecord.VERIFIED.equals(a.state()));
      if (provenElsewhere) {
        throw AdminException.conflict("alias " + name + " is verified for another node");
      }
      long ofNode = byAlias.values().stream().filter(a -> a.nodeId().equals(node.id())).count();
      if (ofNode >= options.getMaxAliasesPerNode()) {
        throw AdminException.badRequest("node " + node.shortName() + " has " + ofNode + " aliases, the most allowed");
      }
      long ofTailnet = byAlias.values().stream().filter(a -> a.tailnet().equals(node.tailnet())).count();
      if (ofTailnet >= options.getMaxAliasesPerTailnet()) {
        throw AdminException.badRequest("tailnet " + node.tailnet() + " has " + ofTailnet + " aliases, the most allowed");
      }
      AliasRecord record = new AliasRecord(name, node.tailnet(), node.id(), newToken(), AliasRecord.PENDING,
          lookup == null ? "not checked: this registry has no --alias-resolver" : "not checked yet", null, origin,
          Instant.now().truncatedTo(ChronoUnit.MILLIS));
      if (!registry.store.insertAlias(record)) {
        throw AdminException.conflict("alias " + name + " was just added for this node by another registry");
      }
      Map<String, AliasRecord> next = new TreeMap<>(byAlias);
      next.put(key(record), record);
      byAlias = Map.copyOf(next);
      checker.due(key(record));
      LOG.log(Level.INFO, "alias {0} added for node {1} ({2}); pending until {3}", name, node.shortName(), origin,
          "_funnel-challenge." + name + " TXT and a CNAME to " + node.fqdn(registry.domain) + " are seen");
      registry.publishControlChanged();
      return record;
    }
  }

  /** Reads every alias from the store again (worker thread): at open, after another registry's change, after removals. */
  void reloadBlocking() {
    List<AliasRecord> all = registry.store.aliases();
    Map<String, AliasRecord> next = new TreeMap<>();
    all.forEach(a -> next.put(key(a), a));
    Set<String> nodes = new java.util.HashSet<>();
    synchronized (lock) {
      for (AliasRecord a : byAlias.values()) {
        AliasRecord now = next.get(key(a));
        if (now == null || !now.state().equals(a.state())) {
          nodes.add(a.nodeId());
        }
      }
      next.values().stream().filter(a -> !byAlias.containsKey(key(a))).forEach(a -> nodes.add(a.nodeId()));
      byAlias = Map.copyOf(next);
    }
    checker.retain(next.keySet());
    changed(nodes);
  }

  // ---------------------------------------------------------------- checking

  /** Every claim now (the checker's round reads this snapshot). */
  Iterable<AliasRecord> claims() {
    return byAlias.values();
  }

  /** What a check needs besides the claim: the node's public name (null: node gone) and whether Funnel is on. */
  record CheckInput(String target, boolean funnelOn) {
  }

  CheckInput inputFor(AliasRecord claim) {
    return new CheckInput(registry.nodeById(claim.nodeId()).map(n -> n.fqdn(registry.domain)).orElse(null),
        registry.tailnetNow(claim.tailnet()).map(Tailnet::funnel).orElse(false));
  }

  /**
   * Records a check of {@code claim} (worker thread): the next state by {@link AliasCheck#next}, written
   * to the store when it or its reason moved, and, when the state moved, everyone told. Returns the new
   * state, or null when the claim was removed (or removed and added again) meanwhile.
   */
  State recordCheck(AliasRecord claim, AliasCheck.Outcome outcome, int inconclusiveInARow) {
    String key = key(claim);
    AliasCheck.Next next;
    boolean stateChanged;
    synchronized (lock) {
      AliasRecord current = byAlias.get(key);
      if (current == null || !current.token().equals(claim.token())) {
        return null;
      }
      next = AliasCheck.next(stateOf(current.state()), outcome, inconclusiveInARow);
      String state = next.state().label();
      stateChanged = !state.equals(current.state());
      AliasRecord checked = current.withCheck(state, next.reason(), Instant.now().truncatedTo(ChronoUnit.MILLIS));
      if (stateChanged || !java.util.Objects.equals(current.reason(), next.reason())) {
        registry.store.updateAlias(checked);
      }
      Map<String, AliasRecord> map = new TreeMap<>(byAlias);
      map.put(key, checked);
      byAlias = Map.copyOf(map);
      if (stateChanged) {
        LOG.log(next.state() == State.VERIFIED ? Level.INFO : Level.WARNING, "alias {0} of node {1}: {2} -> {3} ({4})",
            claim.alias(), claim.nodeId(), current.state(), state, next.reason());
      } else {
        LOG.log(Level.DEBUG, "alias {0} of node {1} still {2} ({3})", claim.alias(), claim.nodeId(), state,
            next.reason());
      }
    }
    if (stateChanged) {
      registry.publishControlChanged();
      changed(Set.of(claim.nodeId()));
    }
    return next.state();
  }

  /** A claim's key: the alias and the claiming node. */
  static String key(AliasRecord a) {
    return key(a.alias(), a.nodeId());
  }

  /**
   * Something about these nodes' aliases changed: tell their gateways (the node prints the records to
   * publish, or that it is verified) and, when the routed set moved, every frontend.
   */
  void changed(Set<String> nodeIds) {
    for (String nodeId : nodeIds) {
      vertx.eventBus().publish(Addresses.ALIAS_STATUS, statusOf(nodeId));
    }
    publishIfMoved();
  }

  /** Publishes the routed set when it differs from the last one published (a tailnet change may move it too). */
  void publishIfMoved() {
    VerifiedAliases now = verified();
    if (!now.equals(published)) {
      published = now;
      vertx.eventBus().publish(Addresses.ALIASES_CHANGED, now);
      LOG.log(Level.INFO, "aliases routed now: {0}", now.targets().isEmpty() ? "none" : now.targets().keySet());
    }
  }

  private static String key(String alias, String nodeId) {
    return alias + " " + nodeId;
  }

  /** 160 random bits, hex: the token an owner publishes. */
  static String newToken() {
    byte[] raw = new byte[20];
    RANDOM.nextBytes(raw);
    return "funnel-" + HexFormat.of().formatHex(raw);
  }

  private static String printable(String raw) {
    String cut = raw == null ? "" : raw.length() > 80 ? raw.substring(0, 80) : raw;
    return cut.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
