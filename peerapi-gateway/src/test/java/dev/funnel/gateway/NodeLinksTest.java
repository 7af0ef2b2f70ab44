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
}
