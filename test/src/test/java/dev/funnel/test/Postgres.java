package dev.funnel.test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL for a test: Debian's {@code postgresql} package (installed by {@code .ci/run}),
 * a new cluster in a temporary directory, listening on 127.0.0.1 and a free port only, started and
 * stopped with {@code pg_ctl}. PostgreSQL refuses to run as root, so as root it runs as the
 * {@code postgres} user ({@code runuser}).
 */
final class Postgres implements AutoCloseable {

  static final String DATABASE = "funnel";
  private static final long WAIT_SECONDS = 60;

  private final Path bin;
  private final Path dir;
  private final Path log;
  private final int port;
  private final boolean root;
  private boolean running;

  private Postgres(Path bin, Path dir, Path log, int port, boolean root) {
    this.bin = bin;
    this.dir = dir;
    this.log = log;
    this.port = port;
    this.root = root;
  }

  /** The newest installed server's {@code bin} directory ({@code /usr/lib/postgresql/N/bin}), if any. */
  static Optional<Path> binDir() {
    Path base = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(base)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(base)) {
      return versions.map(v -> v.resolve("bin"))
          .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
          .max(Comparator.comparing(b -> versionOf(b)));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static int versionOf(Path bin) {
    try {
      return Integer.parseInt(bin.getParent().getFileName().toString());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Creates a cluster in a new temporary directory, starts it on {@code port} and creates {@link #DATABASE}. */
  static Postgres start(Path logDir, int port) throws Exception {
    Path bin = binDir().orElseThrow(() -> new IllegalStateException("PostgreSQL is not installed"));
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir = TempDirs.create("funnel-pg");
    if (root) {
      UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
      Files.setOwner(dir, postgres);
    }
    Files.createDirectories(logDir);
    Postgres pg = new Postgres(bin, dir, logDir.resolve("postgres.log"), port, root);
    pg.run(List.of(bin.resolve("initdb").toString(), "-D", pg.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8",
        "--no-sync"));
    pg.startServer();
    pg.run(List.of(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres",
        DATABASE));
    return pg;
  }

  /** The URL {@code funnel registry --store} takes. */
  String url() {
    return "postgresql://postgres@127.0.0.1:" + port + "/" + DATABASE;
  }

  /** Starts the server again on the same data (after {@link #stopServer()}). */
  void startServer() throws Exception {
    run(List.of(bin.resolve("pg_ctl").toString(), "-D", data(), "-l", serverLog(), "-w", "-t", Long.toString(WAIT_SECONDS),
        "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off", "start"));
    running = true;
  }

  /** A fast shutdown: clients disconnected, data kept. */
  void stopServer() throws Exception {
    if (running) {
      run(List.of(bin.resolve("pg_ctl").toString(), "-D", data(), "-m", "fast", "-w", "-t",
          Long.toString(WAIT_SECONDS), "stop"));
      running = false;
    }
  }

  @Override
  public void close() throws Exception {
    try {
      stopServer();
    } finally {
      TempDirs.deleteTree(dir);
    }
  }

  private String data() {
    return dir.resolve("data").toString();
  }

  private String serverLog() {
    return dir.resolve("server.log").toString();
  }

  private void run(List<String> command) throws Exception {
    List<String> full = new ArrayList<>();
    if (root) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(command);
    Process p = new ProcessBuilder(full).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (!p.waitFor(WAIT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish; see " + log);
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + "; see " + log);
    }
  }
}
