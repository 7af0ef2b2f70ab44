package dev.funnel.registry.store;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * The shared store of a cluster's registries: PostgreSQL, through its JDBC driver, with the same
 * schema and migrations as the embedded store ({@link JdbcControlStore}'s SQL runs unchanged on both).
 * Several registries may open it at once: migrations run under a PostgreSQL advisory lock, so only
 * one applies each version and the others find it done.
 */
public final class PostgresControlStore extends JdbcControlStore {

  /** The advisory lock key that serialises migrations across registries ("fnl" in ASCII). */
  static final long MIGRATION_LOCK = 0x666e6cL;
  /** Connecting, and each statement, give up after this. */
  public static final int DEFAULT_TIMEOUT_SECONDS = 10;

  private final Target target;

  private PostgresControlStore(Connection connection, Target target) {
    super(connection);
    this.target = target;
  }

  /** A broken connection (PostgreSQL restarted, or the network dropped it) is replaced by a new one. */
  @Override
  protected Connection reconnect() throws SQLException {
    return DriverManager.getConnection(target.jdbcUrl(), target.properties());
  }

  /** {@code USER@HOST:PORT/DATABASE}, for logs (never the password). */
  public String where() {
    return target.where();
  }

  /**
   * Opens (migrating if needed) the store at {@code url}, {@code postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE}
   * (the libpq URI form; {@code ?sslmode=…} and other parameters are passed to the driver). Blocking.
   */
  public static PostgresControlStore open(String url) {
    Target target = parse(url);
    Connection connection;
    try {
      connection = DriverManager.getConnection(target.jdbcUrl(), target.properties());
    } catch (SQLException e) {
      throw new StoreException("cannot connect to PostgreSQL at " + target.where() + ": " + e.getMessage(), e);
    }
    try (Statement st = connection.createStatement()) {
      st.execute("SELECT pg_advisory_lock(" + MIGRATION_LOCK + ")");
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new StoreException("cannot lock the PostgreSQL store for migration: " + e.getMessage(), e);
    }
    PostgresControlStore store = new PostgresControlStore(connection, target);
    try (Statement st = connection.createStatement()) {
      st.execute("SELECT pg_advisory_unlock(" + MIGRATION_LOCK + ")");
      connection.commit();
    } catch (SQLException e) {
      store.close();
      throw new StoreException("cannot unlock the PostgreSQL store after migration: " + e.getMessage(), e);
    }
    return store;
  }

  /** Where a {@code postgresql://} URL points, as the driver wants it; the password never in {@link #where()}. */
  record Target(String jdbcUrl, Properties properties, String where) {
  }

  static Target parse(String url) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new StoreException("--store: not a URL (" + e.getReason() + "); expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE");
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equals("postgresql") || scheme.equals("postgres"))) {
      throw new StoreException("--store: only postgresql://USER:PASSWORD@HOST:PORT/DATABASE is supported");
    }
    if (uri.getHost() == null) {
      throw new StoreException("--store: no host in the PostgreSQL URL");
    }
    String database = uri.getRawPath() == null || uri.getRawPath().length() <= 1 ? null : uri.getRawPath().substring(1);
    if (database == null) {
      throw new StoreException("--store: no database in the PostgreSQL URL (postgresql://HOST:PORT/DATABASE)");
    }
    int port = uri.getPort() < 0 ? 5432 : uri.getPort();
    String host = uri.getHost().contains(":") && !uri.getHost().startsWith("[") ? "[" + uri.getHost() + "]" : uri.getHost();
    Properties properties = new Properties();
    if (uri.getRawUserInfo() != null) {
      String[] parts = uri.getRawUserInfo().split(":", 2);
      properties.setProperty("user", decode(parts[0]));
      if (parts.length == 2) {
        properties.setProperty("password", decode(parts[1]));
      }
    }
    properties.setProperty("connectTimeout", Integer.toString(DEFAULT_TIMEOUT_SECONDS));
    properties.setProperty("socketTimeout", Integer.toString(DEFAULT_TIMEOUT_SECONDS * 3));
    properties.setProperty("tcpKeepAlive", "true");
    properties.setProperty("ApplicationName", "funnel-registry");
    String jdbc = "jdbc:postgresql://" + host + ":" + port + "/" + database
        + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    String user = properties.getProperty("user");
    return new Target(jdbc, properties, (user == null ? "" : user + "@") + host + ":" + port + "/" + database);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  private static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException ignored) {
      // closing anyway
    }
  }
}
