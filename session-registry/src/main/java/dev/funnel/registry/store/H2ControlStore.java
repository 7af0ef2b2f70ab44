package dev.funnel.registry.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * The embedded store: an H2 database file {@code registry.mv.db} in the state directory.
 * {@code WRITE_DELAY=0} makes H2 write each commit to the file before the commit returns, so an
 * acknowledged change survives {@code kill -9}. H2 locks the file: a second process opening the
 * same state directory fails instead of corrupting it.
 */
public final class H2ControlStore extends JdbcControlStore {

  /** Base name of the database files in the state directory. */
  public static final String FILE_NAME = "registry";

  private H2ControlStore(java.sql.Connection connection) {
    super(connection);
  }

  /** The JDBC URL of the store in {@code stateDir}. */
  public static String url(Path stateDir) {
    return "jdbc:h2:file:" + stateDir.toAbsolutePath().normalize().resolve(FILE_NAME) + ";WRITE_DELAY=0";
  }

  /** Opens (creating, then migrating) the store in {@code stateDir}. Blocking. */
  public static H2ControlStore open(Path stateDir) {
    if (stateDir.toAbsolutePath().toString().indexOf(';') >= 0) {
      throw new StoreException("the state directory path must not contain ';' (it would end the JDBC URL): " + stateDir);
    }
    try {
      dev.funnel.common.StateFiles.createDirectory(stateDir);
    } catch (IOException e) {
      throw new StoreException("cannot create the state directory " + stateDir + ": " + e.getMessage(), e);
    }
    try {
      return new H2ControlStore(DriverManager.getConnection(url(stateDir), "sa", ""));
    } catch (SQLException e) {
      throw new StoreException("cannot open the store in " + stateDir + ": " + e.getMessage(), e);
    }
  }
}
