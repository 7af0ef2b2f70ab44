package dev.funnel.registry.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class H2ControlStoreTest {

  @TempDir
  java.nio.file.Path state;

  private static final Instant T0 = Instant.parse("2026-11-21T10:00:00.123Z");

  private static AuthKeyInfo key(String id, String tailnet, boolean reusable, Instant expiresAt) {
    return new AuthKeyInfo(id, tailnet, reusable, expiresAt, null, null, T0);
  }

  @Test
  void writesSurviveCloseAndReopen() {
    try (H2ControlStore store = H2ControlStore.open(state)) {
      assertThat(store.insertTailnet(new Tailnet("demo", true, List.of(8443, 443), T0))).isTrue();
      assertThat(store.insertTailnet(new Tailnet("demo", false, List.of(443), T0))).as("duplicate").isFalse();
      store.insertTailnet(new Tailnet("other", false, List.of(), T0));
      store.insertKey(key("k1", "demo", false, T0.plus(1, ChronoUnit.DAYS)), "aa".repeat(32));
      assertThat(store.enrol("aa".repeat(32), "n1", "web", "PK1", T0)).isInstanceOf(Enrolment.Enrolled.class);
      store.updateTailnet("other", true, Set.of(10000));
    }
    try (H2ControlStore store = H2ControlStore.open(state)) {
      assertThat(store.tailnets()).containsExactly(
          new Tailnet("demo", true, List.of(443, 8443), T0),
          new Tailnet("other", true, List.of(10000), T0));
      assertThat(store.keys()).containsExactly(
          new AuthKeyInfo("k1", "demo", false, T0.plus(1, ChronoUnit.DAYS), T0, null, T0));
      assertThat(store.nodes()).containsExactly(new NodeIdentity("n1", "web", "demo", "PK1", "k1", T0));
      assertThat(store.nodeByPublicKey("PK1")).map(NodeIdentity::id).contains("n1");
      assertThat(store.schemaVersion()).isEqualTo(Migrations.latest());
    }
  }

  @Test
  void aliasesRoundTrip() {
    AliasStoreRoundTrip.check(() -> H2ControlStore.open(state), "aliases");
  }

  @Test
  void migrationsAreIdempotent() throws Exception {
    H2ControlStore.open(state).close();
    H2ControlStore.open(state).close();
    try (Connection c = DriverManager.getConnection(H2ControlStore.url(state), "sa", "")) {
      c.setAutoCommit(false);
      assertThat(Migrations.apply(c)).as("version before a third run").isEqualTo(Migrations.latest());
      // Re-running every statement of every version (as after a crash mid-migration) changes nothing.
      try (Statement st = c.createStatement()) {
        for (Migrations.Migration m : Migrations.ALL) {
          for (String sql : m.statements()) {
            st.execute(sql);
          }
        }
      }
      c.commit();
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM schema_version")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(Migrations.ALL.size());
      }
    }
  }

  @Test
  void refusesAStoreFromANewerBuild() throws Exception {
    H2ControlStore.open(state).close();
    try (Connection c = DriverManager.getConnection(H2ControlStore.url(state), "sa", "");
         Statement st = c.createStatement()) {
      st.execute("INSERT INTO schema_version (version, description, applied_at) VALUES (999, 'future', CURRENT_TIMESTAMP)");
    }
    assertThatThrownBy(() -> H2ControlStore.open(state)).isInstanceOf(StoreException.class)
        .hasMessageContaining("newer than this build");
  }

  @Test
  void enrolChecksTheKeyAndTheName() {
    try (H2ControlStore store = H2ControlStore.open(state)) {
      store.insertTailnet(new Tailnet("demo", true, List.of(443), T0));
      store.insertKey(key("once", "demo", false, null), "01".repeat(32));
      store.insertKey(key("many", "demo", true, null), "02".repeat(32));
      store.insertKey(key("old", "demo", true, T0.minusSeconds(1)), "03".repeat(32));

      assertThat(store.enrol("ff".repeat(32), "n0", "x", "PK0", T0)).isInstanceOf(Enrolment.KeyRefused.class);
      assertThat(store.enrol("03".repeat(32), "n0", "x", "PK0", T0)).isInstanceOf(Enrolment.KeyRefused.class);

      store.enrol("02".repeat(32), "n1", "web", "PK1", T0);
      // A name clash on a one-off key must not use the key up.
      assertThat(store.enrol("01".repeat(32), "n2", "web", "PK2", T0)).isInstanceOf(Enrolment.NameTaken.class);
      assertThat(store.key("once")).map(AuthKeyInfo::usedAt).isEmpty();
      assertThat(store.enrol("01".repeat(32), "n2", "api", "PK2", T0)).isInstanceOf(Enrolment.Enrolled.class);
      assertThat(store.enrol("01".repeat(32), "n3", "db", "PK3", T0)).isInstanceOf(Enrolment.KeyRefused.class);
      assertThat(store.enrol("02".repeat(32), "n3", "db", "PK3", T0)).isInstanceOf(Enrolment.Enrolled.class);

      ControlStore.Revocation revocation = store.revokeKey("many", T0.plusSeconds(5)).orElseThrow();
      assertThat(revocation.nodes()).extracting(NodeIdentity::name).containsExactly("db", "web");
      assertThat(revocation.key().revokedAt()).isEqualTo(T0.plusSeconds(5));
      assertThat(store.revokeKey("many", T0.plusSeconds(9)).orElseThrow().key().revokedAt())
          .as("first revocation time kept").isEqualTo(T0.plusSeconds(5));
      assertThat(store.enrol("02".repeat(32), "n4", "x", "PK4", T0)).isInstanceOf(Enrolment.KeyRefused.class);
      assertThat(store.revokeKey("nope", T0)).isEmpty();
    }
  }

  @Test
  void deletingATailnetRemovesItsKeysAndNodes() {
    try (H2ControlStore store = H2ControlStore.open(state)) {
      store.insertTailnet(new Tailnet("demo", true, List.of(443), T0));
      store.insertTailnet(new Tailnet("keep", true, List.of(443), T0));
      store.insertKey(key("k1", "demo", true, null), "01".repeat(32));
      store.insertKey(key("k2", "keep", true, null), "02".repeat(32));
      store.enrol("01".repeat(32), "n1", "web", "PK1", T0);
      store.enrol("02".repeat(32), "n2", "web", "PK2", T0);

      assertThat(store.deleteTailnet("demo")).map(nodes -> nodes.stream().map(NodeIdentity::id).toList())
          .contains(List.of("n1"));
      assertThat(store.deleteTailnet("demo")).isEmpty();
      assertThat(store.tailnets()).extracting(Tailnet::name).containsExactly("keep");
      assertThat(store.keys()).extracting(AuthKeyInfo::id).containsExactly("k2");
      assertThat(store.nodes()).extracting(NodeIdentity::id).containsExactly("n2");
    }
  }

  @Test
  void deletingANodeFreesItsName() {
    try (H2ControlStore store = H2ControlStore.open(state)) {
      store.insertTailnet(new Tailnet("demo", true, List.of(443), T0));
      store.insertKey(key("k1", "demo", true, null), "01".repeat(32));
      store.enrol("01".repeat(32), "n1", "web", "PK1", T0);
      assertThat(store.deleteNode("web", "demo")).map(NodeIdentity::id).isEqualTo(Optional.of("n1"));
      assertThat(store.deleteNode("web", "demo")).isEmpty();
      assertThat(store.enrol("01".repeat(32), "n2", "web", "PK2", T0)).isInstanceOf(Enrolment.Enrolled.class);
    }
  }
}
