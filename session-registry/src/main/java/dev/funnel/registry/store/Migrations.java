package dev.funnel.registry.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

/**
 * Versioned schema migrations, applied in order when a store opens. Each version's statements are
 * plain SQL that H2 and PostgreSQL both accept, and each is idempotent ({@code IF NOT EXISTS}) so a
 * migration interrupted by a crash is simply run again. {@code schema_version} records what ran.
 * Append new versions; never edit one that has shipped.
 */
public final class Migrations {

  /** One schema version. */
  public record Migration(int version, String description, List<String> statements) {
  }

  public static final List<Migration> ALL = List.of(
      new Migration(1, "tailnets, auth keys, node identities", List.of(
          """
          CREATE TABLE IF NOT EXISTS tailnets (
            name        VARCHAR(63) NOT NULL PRIMARY KEY,
            funnel      BOOLEAN NOT NULL,
            ports       VARCHAR(64) NOT NULL,
            created_at  TIMESTAMP WITH TIME ZONE NOT NULL
          )""",
          """
          CREATE TABLE IF NOT EXISTS auth_keys (
            id          VARCHAR(32) NOT NULL PRIMARY KEY,
            tailnet     VARCHAR(63) NOT NULL REFERENCES tailnets (name),
            key_hash    CHAR(64) NOT NULL,
            reusable    BOOLEAN NOT NULL,
            expires_at  TIMESTAMP WITH TIME ZONE,
            used_at     TIMESTAMP WITH TIME ZONE,
            revoked_at  TIMESTAMP WITH TIME ZONE,
            created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
            CONSTRAINT auth_keys_key_hash UNIQUE (key_hash)
          )""",
          """
          CREATE TABLE IF NOT EXISTS nodes (
            id          VARCHAR(32) NOT NULL PRIMARY KEY,
            name        VARCHAR(63) NOT NULL,
            tailnet     VARCHAR(63) NOT NULL REFERENCES tailnets (name),
            public_key  VARCHAR(1024) NOT NULL,
            key_id      VARCHAR(32) NOT NULL REFERENCES auth_keys (id),
            created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
            CONSTRAINT nodes_public_key UNIQUE (public_key),
            CONSTRAINT nodes_name_tailnet UNIQUE (name, tailnet)
          )""",
          "CREATE INDEX IF NOT EXISTS nodes_key_id ON nodes (key_id)",
          "CREATE INDEX IF NOT EXISTS auth_keys_tailnet ON auth_keys (tailnet)")),
      new Migration(2, "custom domains (aliases)", List.of(
          """
          CREATE TABLE IF NOT EXISTS aliases (
            alias       VARCHAR(253) NOT NULL,
            tailnet     VARCHAR(63) NOT NULL REFERENCES tailnets (name),
            node_id     VARCHAR(32) NOT NULL REFERENCES nodes (id),
            token       VARCHAR(64) NOT NULL,
            state       VARCHAR(16) NOT NULL,
            reason      VARCHAR(500),
            checked_at  TIMESTAMP WITH TIME ZONE,
            origin      VARCHAR(16) NOT NULL,
            created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
            CONSTRAINT aliases_pk PRIMARY KEY (alias, node_id)
          )""",
          "CREATE INDEX IF NOT EXISTS aliases_node_id ON aliases (node_id)",
          "CREATE INDEX IF NOT EXISTS aliases_tailnet ON aliases (tailnet)")));

  private Migrations() {
  }

  /** The version a fully migrated store is at. */
  public static int latest() {
    return ALL.get(ALL.size() - 1).version();
  }

  /**
   * Brings the schema on {@code connection} (auto-commit off) to {@link #latest()}; returns the
   * version it was at before. Refuses a store written by a newer build.
   */
  public static int apply(Connection connection) throws SQLException {
    try (Statement st = connection.createStatement()) {
      st.execute("""
          CREATE TABLE IF NOT EXISTS schema_version (
            version     INTEGER NOT NULL PRIMARY KEY,
            description VARCHAR(200) NOT NULL,
            applied_at  TIMESTAMP WITH TIME ZONE NOT NULL
          )""");
    }
    connection.commit();
    int current = current(connection);
    if (current > latest()) {
      throw new StoreException("the store is at schema version " + current + ", newer than this build knows ("
          + latest() + "); refusing to open it");
    }
    for (Migration migration : ALL) {
      if (migration.version() <= current) {
        continue;
      }
      try (Statement st = connection.createStatement()) {
        for (String sql : migration.statements()) {
          st.execute(sql);
        }
      }
      try (PreparedStatement ps = connection.prepareStatement(
          "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)")) {
        ps.setInt(1, migration.version());
        ps.setString(2, migration.description());
        ps.setObject(3, OffsetDateTime.ofInstant(Instant.now(), ZoneOffset.UTC));
        ps.executeUpdate();
      }
      connection.commit();
    }
    return current;
  }

  /** The highest version recorded in {@code schema_version}, 0 for a new store. */
  public static int current(Connection connection) throws SQLException {
    try (Statement st = connection.createStatement();
         ResultSet rs = st.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
