package dev.funnel.registry.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/**
 * The alias round trip every {@link ControlStore} must pass (H2 and PostgreSQL): claims inserted (a
 * second claim of the name by the same node refused, by another node taken), a check recorded, read back after a reopen, removal, and removal with
 * the node or the tailnet that holds it. Uses tailnet {@code tailnet} (must not exist) and removes it.
 */
final class AliasStoreRoundTrip {

  static final Instant T0 = Instant.parse("2026-11-21T10:00:00.123Z");
  static final Instant T1 = Instant.parse("2026-11-21T10:05:00.456Z");

  private AliasStoreRoundTrip() {
  }

  static void check(Supplier<ControlStore> open, String tailnet) {
    String keyHash = Integer.toHexString(tailnet.hashCode()).repeat(8).substring(0, 8).repeat(8);
    AliasRecord blog = new AliasRecord("blog." + tailnet + ".example", tailnet, "n-" + tailnet, "funnel-" + "ab".repeat(20),
        AliasRecord.PENDING, "not checked yet", null, AliasRecord.ORIGIN_NODE, T0);
    try (ControlStore store = open.get()) {
      store.insertTailnet(new Tailnet(tailnet, true, List.of(443), T0));
      store.insertKey(new AuthKeyInfo("k-" + tailnet, tailnet, true, null, null, null, T0), keyHash);
      assertThat(store.enrol(keyHash, "n-" + tailnet, "web", "PK-" + tailnet, T0)).isInstanceOf(Enrolment.Enrolled.class);
      assertThat(store.enrol(keyHash, "m-" + tailnet, "lab", "PK2-" + tailnet, T0)).isInstanceOf(Enrolment.Enrolled.class);

      assertThat(store.insertAlias(blog)).isTrue();
      assertThat(store.insertAlias(new AliasRecord(blog.alias(), tailnet, "n-" + tailnet, "again", AliasRecord.PENDING,
          null, null, AliasRecord.ORIGIN_ADMIN, T0))).as("the same node's claim again").isFalse();
      AliasRecord rival = new AliasRecord(blog.alias(), tailnet, "m-" + tailnet, "funnel-" + "ef".repeat(20),
          AliasRecord.PENDING, null, null, AliasRecord.ORIGIN_ADMIN, T0);
      assertThat(store.insertAlias(rival)).as("another node's claim").isTrue();
      assertThat(store.aliases()).as("by alias, then node").containsExactly(rival, blog);
      assertThat(store.deleteAlias(rival.alias(), rival.nodeId())).contains(rival);
      assertThat(store.aliases()).containsExactly(blog);
      assertThat(store.updateAlias(blog.withCheck(AliasRecord.VERIFIED, "TXT and CNAME found", T1))).isTrue();
      assertThat(store.updateAlias(new AliasRecord("nothing.example", tailnet, "n-" + tailnet, "t",
          AliasRecord.FAILED, null, T1, AliasRecord.ORIGIN_NODE, T0))).as("no such alias").isFalse();
    }
    AliasRecord verified = blog.withCheck(AliasRecord.VERIFIED, "TXT and CNAME found", T1);
    try (ControlStore store = open.get()) {
      assertThat(store.aliases()).as("after a reopen").containsExactly(verified);
      assertThat(store.deleteAlias(blog.alias(), "m-" + tailnet)).as("not that node's").isEmpty();
      assertThat(store.deleteAlias(blog.alias(), blog.nodeId())).contains(verified);
      assertThat(store.deleteAlias(blog.alias(), blog.nodeId())).isEmpty();
      assertThat(store.aliases()).isEmpty();

      // Removed with its node, and with its tailnet.
      store.insertAlias(blog);
      AliasRecord shop = new AliasRecord("shop." + tailnet + ".example", tailnet, "m-" + tailnet, "funnel-" + "cd".repeat(20),
          AliasRecord.PENDING, null, null, AliasRecord.ORIGIN_ADMIN, T0);
      store.insertAlias(shop);
      assertThat(store.deleteNode("web", tailnet)).isPresent();
      assertThat(store.aliases()).containsExactly(shop);
      assertThat(store.deleteTailnet(tailnet)).isPresent();
      assertThat(store.aliases()).isEmpty();
    }
  }
}
