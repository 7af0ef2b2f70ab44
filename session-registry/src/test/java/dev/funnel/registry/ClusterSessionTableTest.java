package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.cluster.ClusterOptions;
import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.net.HostPort;
import dev.funnel.registry.LiveSessions.Live;
import io.vertx.core.Future;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Two registries' session tables over one real Hazelcast cluster (two members in this JVM, TCP/IP
 * join on loopback): a change made through one is seen by the other's local view, concurrent
 * changes to one node never lose each other, and the entry survives the member that wrote it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterSessionTableTest {

  private FunnelCluster one;
  private FunnelCluster two;
  private ClusterSessionTable tableOne;
  private ClusterSessionTable tableTwo;

  @BeforeAll
  void join() throws Exception {
    int portOne = freePort();
    int portTwo = freePort();
    List<HostPort> members = List.of(new HostPort("127.0.0.1", portOne), new HostPort("127.0.0.1", portTwo));
    // A member's start (the first one also looks for the second a while) took over 10 s under
    // load: each is given a minute, a bound on a hang only.
    one = member(FunnelVertx.clustered(new ClusterOptions().setHost("127.0.0.1").setPort(portOne).setMembers(members)));
    two = member(FunnelVertx.clustered(new ClusterOptions().setHost("127.0.0.1").setPort(portTwo).setMembers(members)));
    // Operations issued while the second member's partitions are still migrating can wait longer
    // than the table's timeout on a busy machine: start once the cluster is migration-safe.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!(one.hazelcast().getPartitionService().isClusterSafe()
        && two.hazelcast().getPartitionService().isClusterSafe()) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    // No test here waits for the tables' operation timeout: 20 s, so a starved machine does not reach it.
    tableOne = await(ClusterSessionTable.open(one.vertx(), one.hazelcast(), 20_000, 0));
    tableTwo = await(ClusterSessionTable.open(two.vertx(), two.hazelcast(), 20_000, 0));
  }

  /**
   * A member once it has started. One that is not up in time is closed when it is, so it does not
   * outlive this class (its metrics registry is the process's default, which later classes count on).
   */
  private static FunnelCluster member(Future<FunnelCluster> starting) throws Exception {
    try {
      return starting.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      starting.onSuccess(late -> late.vertx().close());
      throw new AssertionError("a cluster member did not start within 60 s", e);
    }
  }

  @AfterAll
  void leave() throws Exception {
    for (FunnelCluster c : new FunnelCluster[] {two, one}) {
      if (c != null) {
        c.vertx().close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  private static Live live(String node, String gateway, long epoch, long expiresAt) {
    return new Live(node, node + ".demo.funnel.localhost", gateway, epoch, List.of(443), expiresAt);
  }

  private static void eventually(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 30 s").isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  @Test
  void aChangeThroughOneRegistryReachesTheOthersView() throws Exception {
    long far = System.currentTimeMillis() + 600_000;
    assertThat(await(tableOne.put(live("n1", "gw1", 10, far)))).isEmpty();
    assertThat(tableOne.live("n1", 0)).extracting(Live::gatewayId).containsExactly("gw1");
    eventually(() -> tableTwo.live("n1", 0).size() == 1);

    assertThat(await(tableTwo.put(live("n1", "gw2", 11, far)))).isEmpty();
    eventually(() -> tableOne.live("n1", 0).size() == 2);
    assertThat(tableOne.live("n1", 0)).extracting(Live::gatewayId).containsExactly("gw2", "gw1");

    // A gateway's process left: its sessions go, in both views.
    assertThat(await(tableOne.removeGateways(Set.of("gw2")))).extracting(Live::gatewayId).containsExactly("gw2");
    eventually(() -> tableTwo.live("n1", 0).size() == 1);
    assertThat(tableTwo.live("n1", 0)).extracting(Live::gatewayId).containsExactly("gw1");

    // Renewal through the other registry; a lapsed or unknown lease is not renewed.
    assertThat(await(tableTwo.renew("n1", "gw1", 10, 0, far + 1))).map(Live::expiresAt).contains(far + 1);
    assertThat(await(tableTwo.renew("n1", "gw1", 9, 0, far + 2))).isEmpty();
    eventually(() -> tableOne.live("n1", 0).get(0).expiresAt() == far + 1);

    assertThat(await(tableTwo.remove("n1", "gw1", 10))).isPresent();
    eventually(() -> tableOne.live("n1", 0).isEmpty());
  }

  @Test
  void concurrentLoginsOfOneNodeThroughBothRegistriesKeepBoth() throws Exception {
    long far = System.currentTimeMillis() + 600_000;
    for (int round = 0; round < 20; round++) {
      String node = "race" + round;
      var a = tableOne.put(live(node, "gwA", 100 + round, far));
      var b = tableTwo.put(live(node, "gwB", 200 + round, far));
      await(a);
      await(b);
      eventually(() -> tableOne.live(node, 0).size() == 2 && tableTwo.live(node, 0).size() == 2);
    }
  }

  @Test
  void fetchSeesAWriteBeforeItsEventArrives() throws Exception {
    long far = System.currentTimeMillis() + 600_000;
    await(tableOne.put(live("n3", "gw31", 30, far)));
    // fetch reads the map itself, whatever the local view holds right now
    assertThat(await(tableTwo.fetch("n3", 0))).extracting(Live::gatewayId).containsExactly("gw31");
  }

  @Test
  void sweepDropsLapsedLeasesEverywhere() throws Exception {
    long now = System.currentTimeMillis();
    await(tableOne.put(live("n4", "gw41", 40, now + 50)));
    await(tableOne.put(live("n4", "gw42", 41, now + 600_000)));
    eventually(() -> tableTwo.live("n4", 0).size() == 2);
    assertThat(await(tableTwo.sweep(now + 100))).extracting(Live::gatewayId).containsExactly("gw41");
    eventually(() -> tableOne.live("n4", 0).size() == 1);
  }

  @Test
  void aWithdrawnSessionLeavesTheViewAtOnceAndALoginElsewhereKeepsTheLiveOne() throws Exception {
    long far = System.currentTimeMillis() + 600_000;
    await(tableOne.put(live("n5", "gw51", 50, far)));
    await(tableOne.put(live("n5", "gw52", 51, far)));
    eventually(() -> tableTwo.live("n5", 0).size() == 2);

    // Withdrawn here, before (and without) any change to the shared map: gone from this view only.
    tableOne.markWithdrawn("n5", "gw52", 51);
    assertThat(tableOne.live("n5", System.currentTimeMillis())).extracting(Live::gatewayId).containsExactly("gw51");
    assertThat(tableTwo.live("n5", System.currentTimeMillis())).hasSize(2);

    // The node logs in on a third gateway: the withdrawn session makes room, not the older live one.
    assertThat(await(tableOne.put(live("n5", "gw53", 52, far)))).extracting(Live::gatewayId).containsExactly("gw52");
    eventually(() -> tableTwo.live("n5", 0).size() == 2
        && tableTwo.live("n5", 0).stream().map(Live::gatewayId).toList().equals(List.of("gw53", "gw51")));
  }

  @Test
  void aLeaseTheMapHasNotWithdrawnServesForTheGracePeriod() throws Exception {
    ClusterSessionTable lenient = await(ClusterSessionTable.open(one.vertx(), one.hazelcast(), 20_000, 60_000));
    try {
      long now = System.currentTimeMillis();
      await(tableOne.put(live("n6", "gw61", 60, now + 1_000)));
      eventually(() -> lenient.live("n6", now).size() == 1);
      // Ten seconds after the lease ran out, no sweep has run: the strict view drops it, the lenient
      // one (whose renewals may be stuck behind a dead member's partition) keeps serving it.
      assertThat(tableOne.live("n6", now + 11_000)).isEmpty();
      assertThat(lenient.live("n6", now + 11_000)).extracting(Live::gatewayId).containsExactly("gw61");
      assertThat(lenient.live("n6", now + 61_000)).as("past the grace").isEmpty();
    } finally {
      await(lenient.close());
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
