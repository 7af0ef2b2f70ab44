package dev.funnel.registry.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * {@link ControlStore} over one JDBC connection, in SQL that H2 and PostgreSQL both accept. Each
 * method is one transaction, serialised on this object: the registry's write rate (admin calls,
 * node enrolments) is tiny, and one connection keeps transactions from interleaving.
 */
public class JdbcControlStore implements ControlStore {

  private Connection connection;
  private final int schemaVersion;

  /** Takes ownership of {@code connection}, turns auto-commit off and migrates the schema. */
  protected JdbcControlStore(Connection connection) {
    this.connection = connection;
    try {
      connection.setAutoCommit(false);
      Migrations.apply(connection);
      schemaVersion = Migrations.current(connection);
      connection.commit();
    } catch (SQLException e) {
      closeQuietly();
      throw new StoreException("cannot migrate the store: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly();
      throw e;
    }
  }

  @FunctionalInterface
  private interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private synchronized <T> T tx(String what, Work<T> work) {
    try {
      T result = work.run(connection);
      connection.commit();
      return result;
    } catch (SQLException e) {
      try {
        connection.rollback();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      replaceIfBroken(e);
      throw new StoreException(what + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * After a failure, checks the connection; a broken one (the database restarted, the network
   * dropped it) is replaced through {@link #reconnect()}, so the next call works again. The failed
   * call itself is not retried: its caller sees the failure.
   */
  private void replaceIfBroken(SQLException failure) {
    try {
      if (connection.isValid(2)) {
        return;
      }
    } catch (SQLException e) {
      // not valid
    }
    try {
      Connection fresh = reconnect();
      if (fresh != null) {
        fresh.setAutoCommit(false);
        closeQuietly();
        connection = fresh;
      }
    } catch (SQLException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /**
   * A new connection to the same database, or null when this store cannot make one (the embedded
   * store's connection does not break). Called with this object's lock held.
   */
  protected Connection reconnect() throws SQLException {
    return null;
  }

  @Override
  public void ping() {
    tx("ping", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1"); ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    });
  }

  @Override
  public int schemaVersion() {
    return schemaVersion;
  }

  // ---------------------------------------------------------------- tailnets

  @Override
  public List<Tailnet> tailnets() {
    return tx("listing tailnets", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT name, funnel, ports, created_at FROM tailnets ORDER BY name")) {
        return readTailnets(ps);
      }
    });
  }

  @Override
  public Optional<Tailnet> tailnet(String name) {
    return tx("reading a tailnet", c -> findTailnet(c, name));
  }

  @Override
  public boolean insertTailnet(Tailnet tailnet) {
    return tx("adding a tailnet", c -> {
      if (findTailnet(c, tailnet.name()).isPresent()) {
        return false;
      }
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO tailnets (name, funnel, ports, created_at) VALUES (?, ?, ?, ?)")) {
        ps.setString(1, tailnet.name());
        ps.setBoolean(2, tailnet.funnel());
        ps.setString(3, portsText(tailnet.ports()));
        setTime(ps, 4, tailnet.createdAt());
        ps.executeUpdate();
      }
      return true;
    });
  }

  @Override
  public Optional<Tailnet> updateTailnet(String name, Boolean funnel, Set<Integer> ports) {
    return tx("changing a tailnet", c -> {
      Optional<Tailnet> found = findTailnet(c, name);
      if (found.isEmpty()) {
        return Optional.empty();
      }
      Tailnet changed = found.get().with(funnel, ports);
      try (PreparedStatement ps = c.prepareStatement("UPDATE tailnets SET funnel = ?, ports = ? WHERE name = ?")) {
        ps.setBoolean(1, changed.funnel());
        ps.setString(2, portsText(changed.ports()));
        ps.setString(3, name);
        ps.executeUpdate();
      }
      return Optional.of(changed);
    });
  }

  @Override
  public Optional<List<NodeIdentity>> deleteTailnet(String name) {
    return tx("removing a tailnet", c -> {
      if (findTailnet(c, name).isEmpty()) {
        return Optional.empty();
      }
      List<NodeIdentity> nodes;
      try (PreparedStatement ps = c.prepareStatement(NODE_COLUMNS + " WHERE tailnet = ? ORDER BY name")) {
        ps.setString(1, name);
        nodes = readNodes(ps);
      }
      for (String sql : List.of("DELETE FROM aliases WHERE tailnet = ?", "DELETE FROM nodes WHERE tailnet = ?",
          "DELETE FROM auth_keys WHERE tailnet = ?",
          "DELETE FROM tailnets WHERE name = ?")) {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
          ps.setString(1, name);
          ps.executeUpdate();
        }
      }
      return Optional.of(nodes);
    });
  }

  private static Optional<Tailnet> findTailnet(Connection c, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT name, funnel, ports, created_at FROM tailnets WHERE name = ?")) {
      ps.setString(1, name);
      return readTailnets(ps).stream().findFirst();
    }
  }

  private static List<Tailnet> readTailnets(PreparedStatement ps) throws SQLException {
    List<Tailnet> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new Tailnet(rs.getString(1), rs.getBoolean(2), parsePorts(rs.getString(3)), time(rs, 4)));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- auth keys

  private static final String KEY_COLUMNS =
      "SELECT id, tailnet, reusable, expires_at, used_at, revoked_at, created_at FROM auth_keys";

  @Override
  public void insertKey(AuthKeyInfo key, String keyHash) {
    tx("adding an auth key", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO auth_keys "
          + "(id, tailnet, key_hash, reusable, expires_at, used_at, revoked_at, created_at) "
          + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, key.id());
        ps.setString(2, key.tailnet());
        ps.setString(3, keyHash);
        ps.setBoolean(4, key.reusable());
        setTime(ps, 5, key.expiresAt());
        setTime(ps, 6, key.usedAt());
        setTime(ps, 7, key.revokedAt());
        setTime(ps, 8, key.createdAt());
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public List<AuthKeyInfo> keys() {
    return tx("listing auth keys", c -> {
      try (PreparedStatement ps = c.prepareStatement(KEY_COLUMNS + " ORDER BY created_at, id")) {
        return readKeys(ps);
      }
    });
  }

  @Override
  public Optional<AuthKeyInfo> key(String id) {
    return tx("reading an auth key", c -> findKey(c, "id", id));
  }

  @Override
  public Optional<Revocation> revokeKey(String id, Instant now) {
    return tx("revoking an auth key", c -> {
      Optional<AuthKeyInfo> found = findKey(c, "id", id);
      if (found.isEmpty()) {
        return Optional.empty();
      }
      AuthKeyInfo key = found.get();
      if (key.revokedAt() == null) {
        try (PreparedStatement ps = c.prepareStatement("UPDATE auth_keys SET revoked_at = ? WHERE id = ?")) {
          setTime(ps, 1, now);
          ps.setString(2, id);
          ps.executeUpdate();
        }
        key = new AuthKeyInfo(key.id(), key.tailnet(), key.reusable(), key.expiresAt(), key.usedAt(), now,
            key.createdAt());
      }
      try (PreparedStatement ps = c.prepareStatement(NODE_COLUMNS + " WHERE key_id = ? ORDER BY tailnet, name")) {
        ps.setString(1, id);
        return Optional.of(new Revocation(key, readNodes(ps)));
      }
    });
  }

  /** The key an enrolment names, or why it may not enrol a node now (then {@code key} is null). */
  private record UsableKey(AuthKeyInfo key, Enrolment.KeyRefused refused) {
  }

  private static UsableKey usableKey(Connection c, String keyHash, Instant now) throws SQLException {
    Optional<AuthKeyInfo> found = findKey(c, "key_hash", keyHash);
    if (found.isEmpty()) {
      return new UsableKey(null, new Enrolment.KeyRefused("unknown auth key"));
    }
    String refusal = found.get().refusal(now);
    return refusal != null ? new UsableKey(null, new Enrolment.KeyRefused(refusal)) : new UsableKey(found.get(), null);
  }

  /**
   * Marks a one-off key used, in the enrolment's transaction; null when done (or the key is
   * reusable), else the refusal, rolled back. The WHERE makes a one-off key single-use even if two
   * enrolments ever raced past the check.
   */
  private static Enrolment.KeyRefused useOnce(Connection c, AuthKeyInfo key, Instant now) throws SQLException {
    if (key.reusable()) {
      return null;
    }
    try (PreparedStatement ps = c.prepareStatement("UPDATE auth_keys SET used_at = ? WHERE id = ? AND used_at IS NULL")) {
      setTime(ps, 1, now);
      ps.setString(2, key.id());
      if (ps.executeUpdate() != 1) {
        c.rollback();
        return new Enrolment.KeyRefused("one-off auth key " + key.id() + " was already used");
      }
    }
    return null;
  }

  private static Optional<AuthKeyInfo> findKey(Connection c, String column, String value) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(KEY_COLUMNS + " WHERE " + column + " = ?")) {
      ps.setString(1, value);
      return readKeys(ps).stream().findFirst();
    }
  }

  private static List<AuthKeyInfo> readKeys(PreparedStatement ps) throws SQLException {
    List<AuthKeyInfo> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new AuthKeyInfo(rs.getString(1), rs.getString(2), rs.getBoolean(3), time(rs, 4), time(rs, 5),
            time(rs, 6), time(rs, 7)));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- nodes

  private static final String NODE_COLUMNS = "SELECT id, name, tailnet, public_key, key_id, created_at FROM nodes";

  @Override
  public List<NodeIdentity> nodes() {
    return tx("listing nodes", c -> {
      try (PreparedStatement ps = c.prepareStatement(NODE_COLUMNS + " ORDER BY tailnet, name")) {
        return readNodes(ps);
      }
    });
  }

  @Override
  public Optional<NodeIdentity> nodeByPublicKey(String publicKey) {
    return tx("reading a node", c -> {
      try (PreparedStatement ps = c.prepareStatement(NODE_COLUMNS + " WHERE public_key = ?")) {
        ps.setString(1, publicKey);
        return readNodes(ps).stream().findFirst();
      }
    });
  }

  @Override
  public Enrolment enrol(String keyHash, String nodeId, String name, String publicKey, Instant now) {
    return tx("enrolling a node", c -> {
      UsableKey usable = usableKey(c, keyHash, now);
      if (usable.refused() != null) {
        return usable.refused();
      }
      AuthKeyInfo key = usable.key();
      try (PreparedStatement ps = c.prepareStatement(NODE_COLUMNS + " WHERE name = ? AND tailnet = ?")) {
        ps.setString(1, name);
        ps.setString(2, key.tailnet());
        Optional<NodeIdentity> owner = readNodes(ps).stream().findFirst();
        if (owner.isPresent()) {
          return new Enrolment.NameTaken(owner.get());
        }
      }
      NodeIdentity node = new NodeIdentity(nodeId, name, key.tailnet(), publicKey, key.id(), now);
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO nodes (id, name, tailnet, public_key, key_id, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, node.id());
        ps.setString(2, node.name());
        ps.setString(3, node.tailnet());
        ps.setString(4, node.publicKey());
        ps.setString(5, node.keyId());
        setTime(ps, 6, node.createdAt());
        ps.executeUpdate();
      }
      Enrolment.KeyRefused used = useOnce(c, key, now);
      return used != null ? used : new Enrolment.Enrolled(node);
    });
  }

  @Override
  public Enrolment reenrol(String keyHash, String nodeId, Instant now) {
    return tx("enrolling a node again", c -> {
      UsableKey usable = usableKey(c, keyHash, now);
      if (usable.refused() != null) {
        return usable.refused();
      }
      AuthKeyInfo key = usable.key();
      Optional<NodeIdentity> node;
      try (PreparedStatement ps = c.prepareStatement(NODE_COLUMNS + " WHERE id = ?")) {
        ps.setString(1, nodeId);
        node = readNodes(ps).stream().findFirst();
      }
      if (node.isEmpty()) {
        return new Enrolment.KeyRefused("no node " + nodeId);
      }
      NodeIdentity old = node.get();
      if (!key.tailnet().equals(old.tailnet())) {
        return new Enrolment.KeyRefused("auth key " + key.id() + " is of tailnet " + key.tailnet() + ", not "
            + old.tailnet());
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE nodes SET key_id = ? WHERE id = ?")) {
        ps.setString(1, key.id());
        ps.setString(2, nodeId);
        ps.executeUpdate();
      }
      Enrolment.KeyRefused used = useOnce(c, key, now);
      return used != null ? used : new Enrolment.Enrolled(new NodeIdentity(old.id(), old.name(), old.tailnet(), old.publicKey(), key.id(),
          old.createdAt()));
    });
  }

  @Override
  public Optional<NodeIdentity> deleteNode(String name, String tailnet) {
    return tx("removing a node", c -> {
      Optional<NodeIdentity> found;
      try (PreparedStatement ps = c.prepareStatement(NODE_COLUMNS + " WHERE name = ? AND tailnet = ?")) {
        ps.setString(1, name);
        ps.setString(2, tailnet);
        found = readNodes(ps).stream().findFirst();
      }
      if (found.isPresent()) {
        for (String sql : List.of("DELETE FROM aliases WHERE node_id = ?", "DELETE FROM nodes WHERE id = ?")) {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, found.get().id());
            ps.executeUpdate();
          }
        }
      }
      return found;
    });
  }

  private static List<NodeIdentity> readNodes(PreparedStatement ps) throws SQLException {
    List<NodeIdentity> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new NodeIdentity(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
            rs.getString(5), time(rs, 6)));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- aliases

  private static final String ALIAS_COLUMNS =
      "SELECT alias, tailnet, node_id, token, state, reason, checked_at, origin, created_at FROM aliases";

  @Override
  public List<AliasRecord> aliases() {
    return tx("listing aliases", c -> {
      List<AliasRecord> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(ALIAS_COLUMNS + " ORDER BY alias, node_id");
           ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new AliasRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
              rs.getString(5), rs.getString(6), time(rs, 7), rs.getString(8), time(rs, 9)));
        }
      }
      return out;
    });
  }

  @Override
  public boolean insertAlias(AliasRecord alias) {
    return tx("adding an alias", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM aliases WHERE alias = ? AND node_id = ?")) {
        ps.setString(1, alias.alias());
        ps.setString(2, alias.nodeId());
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            return false;
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO aliases (alias, tailnet, node_id, token, state, "
          + "reason, checked_at, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, alias.alias());
        ps.setString(2, alias.tailnet());
        ps.setString(3, alias.nodeId());
        ps.setString(4, alias.token());
        ps.setString(5, alias.state());
        ps.setString(6, clip(alias.reason()));
        setTime(ps, 7, alias.checkedAt());
        ps.setString(8, alias.origin());
        setTime(ps, 9, alias.createdAt());
        ps.executeUpdate();
      }
      return true;
    });
  }

  @Override
  public boolean updateAlias(AliasRecord alias) {
    return tx("recording an alias check", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE aliases SET state = ?, reason = ?, checked_at = ? WHERE alias = ? AND node_id = ?")) {
        ps.setString(1, alias.state());
        ps.setString(2, clip(alias.reason()));
        setTime(ps, 3, alias.checkedAt());
        ps.setString(4, alias.alias());
        ps.setString(5, alias.nodeId());
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Optional<AliasRecord> deleteAlias(String alias, String nodeId) {
    return tx("removing an alias", c -> {
      Optional<AliasRecord> found = Optional.empty();
      try (PreparedStatement ps = c.prepareStatement(ALIAS_COLUMNS + " WHERE alias = ? AND node_id = ?")) {
        ps.setString(1, alias);
        ps.setString(2, nodeId);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            found = Optional.of(new AliasRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6), time(rs, 7), rs.getString(8), time(rs, 9)));
          }
        }
      }
      if (found.isPresent()) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM aliases WHERE alias = ? AND node_id = ?")) {
          ps.setString(1, alias);
          ps.setString(2, nodeId);
          ps.executeUpdate();
        }
      }
      return found;
    });
  }

  private static String clip(String reason) {
    return reason == null || reason.length() <= 500 ? reason : reason.substring(0, 500);
  }

  // ---------------------------------------------------------------- plumbing

  @Override
  public synchronized void close() {
    closeQuietly();
  }

  private void closeQuietly() {
    try {
      connection.close();
    } catch (SQLException ignored) {
      // closing anyway
    }
  }

  static String portsText(List<Integer> ports) {
    return ports.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  static List<Integer> parsePorts(String text) {
    TreeSet<Integer> ports = new TreeSet<>();
    for (String part : text.split(",")) {
      if (!part.isBlank()) {
        ports.add(Integer.parseInt(part.trim()));
      }
    }
    return List.copyOf(ports);
  }

  private static void setTime(PreparedStatement ps, int index, Instant instant) throws SQLException {
    if (instant == null) {
      ps.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      ps.setObject(index, OffsetDateTime.ofInstant(instant, ZoneOffset.UTC));
    }
  }

  private static Instant time(ResultSet rs, int index) throws SQLException {
    OffsetDateTime t = rs.getObject(index, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }
}
