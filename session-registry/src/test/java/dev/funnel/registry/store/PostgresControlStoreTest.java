package dev.funnel.registry.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The shared store of clustered registries on a real PostgreSQL (Debian's package, a new cluster in
 * a temporary directory on 127.0.0.1 and a free port, run as the {@code postgres} user when the test
 * runs as root): the same schema and migrations as the embedded store, applied once when several
 * registries open it at the same moment, and each registry's writes visible to the others.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PostgresControlStoreTest {

  private static final Instant T0 = Instant.parse("2026-11-21T10:00:00.123Z");

  private Path bin;
  private Path dir;
  private int port;
  private boolean root;

  @BeforeAll
  void startPostgres() throws Exception {
    bin = binDir();
    assumeTrue(bin != null, "PostgreSQL is not installed (.ci/run installs Debian's postgresql)");
    root = "root".equals(System.getProperty("user.name"));
    dir = Files.createTempDirectory("funnel-pg-test");
    if (root) {
      UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
      Files.setOwner(dir, postgres);
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    run("initdb", "-D", dir.resolve("data").toString(), "-A", "trust", "-U", "postgres", "--no-sync");
    run("pg_ctl", "-D", dir.resolve("data").toString(), "-l", dir.resolve("log").toString(), "-w", "-t", "30",
        "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off", "start");
    run("createdb", "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres", "funnel");
  }

  @AfterAll
  void stopPostgres() throws Exception {
    if (dir == null) {
      return;
    }
    try {
      run("pg_ctl", "-D", dir.resolve("data").toString(), "-m", "immediate", "-w", "stop");
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private String url() {
    return "postgresql://postgres@127.0.0.1:" + port + "/funnel";
  }

  @Test
  void severalRegistriesOpeningAtOnceMigrateOnceAndShareEveryWrite() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<PostgresControlStore>> opening = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      opening.add(pool.submit((Callable<PostgresControlStore>) () -> PostgresControlStore.open(url())));
    }
    List<PostgresControlStore> stores = new ArrayList<>();
    for (Future<PostgresControlStore> f : opening) {
      stores.add(f.get(30, TimeUnit.SECONDS));
    }
    pool.shutdown();
    try {
      for (PostgresControlStore s : stores) {
        assertThat(s.schemaVersion()).isEqualTo(Migrations.latest());
        assertThat(s.where()).isEqualTo("postgres@127.0.0.1:" + port + "/funnel").doesNotContain("password");
      }
      PostgresControlStore one = stores.get(0);
      PostgresControlStore two = stores.get(1);
      assertThat(one.insertTailnet(new Tailnet("demo", true, List.of(443), T0))).isTrue();
      assertThat(two.insertTailnet(new Tailnet("demo", false, List.of(443), T0))).as("already there").isFalse();
      two.insertKey(new AuthKeyInfo("k1", "demo", false, T0.plus(1, ChronoUnit.DAYS), null, null, T0), "aa".repeat(32));
      assertThat(one.enrol("aa".repeat(32), "n1", "web", "PK1", T0)).isInstanceOf(Enrolment.Enrolled.class);
      assertThat(two.enrol("aa".repeat(32), "n2", "web2", "PK2", T0)).as("one-off key used by the other registry")
          .isInstanceOf(Enrolment.KeyRefused.class);
      assertThat(two.nodeByPublicKey("PK1")).map(NodeIdentity::name).contains("web");
      assertThat(two.updateTailnet("demo", false, Set.of(443, 8443))).map(Tailnet::funnel).contains(false);
      assertThat(one.tailnets()).containsExactly(new Tailnet("demo", false, List.of(443, 8443), T0));
      assertThat(one.keys()).containsExactly(new AuthKeyInfo("k1", "demo", false, T0.plus(1, ChronoUnit.DAYS), T0, null, T0));
      assertThat(one.revokeKey("k1", T0).map(r -> r.nodes().size())).contains(1);
      assertThat(two.deleteNode("web", "demo")).map(NodeIdentity::id).contains("n1");
      assertThat(one.nodes()).isEmpty();
    } finally {
      stores.forEach(PostgresControlStore::close);
    }
    // Reopened: still there, no migration run again.
    try (PostgresControlStore again = PostgresControlStore.open(url())) {
      assertThat(again.tailnets()).extracting(Tailnet::name).containsExactly("demo");
      again.ping();
      assertThat(again.deleteTailnet("demo")).map(List::size).contains(0);
    }
  }

  @Test
  void aliasesRoundTrip() {
    AliasStoreRoundTrip.check(() -> PostgresControlStore.open(url()), "aliases");
  }

  @Test
  void aRestartedDatabaseIsReconnectedAfterTheFailureItCaused() throws Exception {
    try (PostgresControlStore store = PostgresControlStore.open(url())) {
      store.ping();
      String data = dir.resolve("data").toString();
      run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop");
      run("pg_ctl", "-D", data, "-l", dir.resolve("log").toString(), "-w", "-t", "30",
          "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off", "start");
      assertThatThrownBy(store::ping).as("the old connection is gone").isInstanceOf(StoreException.class);
      store.ping();
      assertThat(store.schemaVersion()).isEqualTo(Migrations.latest());
    }
  }

  @Test
  void aStoreThatCannotBeReachedSaysWhereWithoutThePassword() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    assertThatThrownBy(() -> PostgresControlStore.open("postgresql://funnel:s3cret@127.0.0.1:" + closed + "/funnel"))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("funnel@127.0.0.1:" + closed + "/funnel")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void urlsAreParsedIntoTheDriversForm() {
    PostgresControlStore.Target t = PostgresControlStore.parse("postgresql://fun%40nel:p%3Ass@db.internal/funnel?sslmode=require");
    assertThat(t.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:5432/funnel?sslmode=require");
    assertThat(t.properties().getProperty("user")).isEqualTo("fun@nel");
    assertThat(t.properties().getProperty("password")).isEqualTo("p:ss");
    assertThat(t.where()).isEqualTo("fun@nel@db.internal:5432/funnel");
    assertThat(PostgresControlStore.parse("postgres://10.0.0.20:6432/f").jdbcUrl())
        .isEqualTo("jdbc:postgresql://10.0.0.20:6432/f");
    for (String bad : List.of("mysql://h/db", "postgresql://h", "postgresql:///db", "not a url")) {
      assertThatThrownBy(() -> PostgresControlStore.parse(bad)).as(bad).isInstanceOf(StoreException.class);
    }
  }

  private static Path binDir() throws IOException {
    Path base = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(base)) {
      return null;
    }
    try (Stream<Path> versions = Files.list(base)) {
      Optional<Path> newest = versions.map(v -> v.resolve("bin"))
          .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
          .max(Comparator.comparing(Path::toString));
      return newest.orElse(null);
    }
  }

  private void run(String tool, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    if (root) {
      command.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    command.add(bin.resolve(tool).toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("tools.log").toFile())).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", command)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", command) + "; see " + dir.resolve("tools.log")).isZero();
  }
}
