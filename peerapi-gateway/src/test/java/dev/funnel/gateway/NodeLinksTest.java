package dev.funnel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How a tunnel's link connection is chosen. Opens that come at once see every connection with the
 * same stream count (their streams do not exist yet): they must go round the connections, not all
 * to the first (8 bulk downloads once went 18 : 6 over a node's two links, so over its two loops).
 */
class NodeLinksTest {

  @Test
  void tiesGoRoundTheConnections() {
    NodeLinks links = new NodeLinks("s", "n", 1, "secret");
    Channel a = new EmbeddedChannel();
    Channel b = new EmbeddedChannel();
    assertThat(links.add(a, 8)).isTrue();
    assertThat(links.add(b, 8)).isTrue();
    List<Channel> picked = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      picked.add(links.pick(null));
    }
    assertThat(picked).filteredOn(c -> c == a).hasSize(4);
    assertThat(picked).filteredOn(c -> c == b).hasSize(4);
  }

  @Test
  void anAvoidedOrClosedConnectionIsNotPicked() {
    NodeLinks links = new NodeLinks("s", "n", 1, "secret");
    Channel a = new EmbeddedChannel();
    Channel b = new EmbeddedChannel();
    links.add(a, 8);
    links.add(b, 8);
    for (int i = 0; i < 4; i++) {
      assertThat(links.pick(a)).isSameAs(b);
    }
    b.close();
    assertThat(links.pick(null)).isSameAs(a);
    assertThat(links.pick(a)).isNull();
    links.end();
    assertThat(links.pick(null)).isNull();
  }

  @Test
  void aConnectionOnTheCallersLoopIsChosenEveryTime() {
    NodeLinks links = new NodeLinks("s", "n", 1, "secret");
    Channel a = new EmbeddedChannel();
    Channel b = new EmbeddedChannel();
    links.add(a, 8);
    links.add(b, 8);
    for (int i = 0; i < 6; i++) {
      assertThat(links.pick(null, b.eventLoop())).isSameAs(b);
      assertThat(links.pick(null, a.eventLoop())).isSameAs(a);
    }
    // Avoided (a retry after it failed): the other one, whatever its loop.
    assertThat(links.pick(b, b.eventLoop())).isSameAs(a);
    // A loop no connection runs on: least loaded, ties in turn.
    List<Channel> picked = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      picked.add(links.pick(null, new EmbeddedChannel().eventLoop()));
    }
    assertThat(picked).filteredOn(c -> c == a).hasSize(4);
  }

  @Test
  void theCallersLoopWinsUntilItsConnectionCarriesMoreThanTheSlackAboveTheLeastLoaded() {
    int slack = NodeLinks.SAME_LOOP_SLACK;
    boolean[] secondIsNear = {false, true};
    // {streams of connection 0, streams of connection 1} -> chosen index
    int[][] table = {
        {0, 0, 1},
        {0, slack, 1},
        {0, slack + 1, 0},
        {10, 10 + slack, 1},
        {10, 11 + slack, 0},
        {5, 3, 1},
        {-1, 100, 1},        // 0 is no candidate (closed or avoided)
        {100, -1, 0},        // the near one is no candidate: the other
        {-1, -1, -1},
    };
    for (int[] row : table) {
      assertThat(NodeLinks.choose(new int[] {row[0], row[1]}, secondIsNear, 0)).as("streams %d, %d", row[0], row[1])
          .isEqualTo(row[2]);
    }
    // No near connection: the least loaded; ties go to where the scan starts.
    assertThat(NodeLinks.choose(new int[] {3, 3}, new boolean[2], 1)).isEqualTo(1);
    assertThat(NodeLinks.choose(new int[] {3, 3}, new boolean[2], 0)).isEqualTo(0);
    assertThat(NodeLinks.choose(new int[] {4, 3}, new boolean[2], 0)).isEqualTo(1);
    assertThat(NodeLinks.choose(new int[0], new boolean[0], 0)).isEqualTo(-1);
  }

  @Test
  void aLinkStaysOnItsLoopUnlessAnotherCarriesFewerOfTheNodesLinks() {
    // {links placed per loop…}, accepted on loop at -> where it runs
    Object[][] table = {
        {new int[] {0, 0}, 0, 0},
        {new int[] {0, 0}, 1, 1},
        {new int[] {1, 0}, 0, 1},       // the second link accepted on the first's loop moves
        {new int[] {1, 0}, 1, 1},
        {new int[] {1, 1}, 0, 0},       // a third link stays where it is
        {new int[] {2, 1, 0, 1}, 0, 2}, // the first of the fewest
        {new int[] {2, 0, 0, 1}, 3, 1},
        {new int[] {1}, 0, 0},
    };
    for (Object[] row : table) {
      int[] placed = (int[]) row[0];
      assertThat(NodeLinks.placement(placed, (int) row[1])).as("%s at %d", java.util.Arrays.toString(placed), row[1])
          .isEqualTo(row[2]);
    }
  }

  @Test
  void placedLoopsAreCountedUntilReleased() {
    io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(2,
        io.netty.channel.nio.NioIoHandler.newFactory());
    try {
      List<io.netty.channel.EventLoop> loops = new ArrayList<>();
      group.forEach(e -> loops.add((io.netty.channel.EventLoop) e));
      NodeLinks links = new NodeLinks("s", "n", 1, "secret");
      assertThat(links.placeLink(loops.get(0), loops)).isSameAs(loops.get(0));
      assertThat(links.placeLink(loops.get(0), loops)).as("two accepted on one loop").isSameAs(loops.get(1));
      links.releaseLoop(loops.get(0));
      assertThat(links.placeLink(loops.get(1), loops)).as("the first closed: its loop is free").isSameAs(loops.get(0));
      io.netty.channel.EventLoop elsewhere = new io.netty.channel.embedded.EmbeddedChannel().eventLoop();
      assertThat(links.placeLink(elsewhere, loops)).as("a loop not the data plane's: left as it is").isSameAs(elsewhere);
    } finally {
      group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
