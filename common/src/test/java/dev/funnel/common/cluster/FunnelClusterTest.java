package dev.funnel.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.config.Config;
import org.junit.jupiter.api.Test;

class FunnelClusterTest {

  @Test
  void hazelcastCollectsNoMetricsOfItsOwn() {
    Config config = FunnelCluster.hazelcastConfig(new ClusterOptions(), "127.0.0.1");
    // Hazelcast's default collects them every 5 s in every member, idle or not; Funnel's meters are Micrometer's.
    assertThat(config.getMetricsConfig().isEnabled()).isFalse();
  }
}
