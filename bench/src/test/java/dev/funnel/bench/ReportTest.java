package dev.funnel.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class ReportTest {

  private static JsonObject path(double tunnels, double one, double eight, Double cpuPerTunnel) {
    return new JsonObject().put("tunnels_per_s", tunnels).put("throughput_1stream_mib_s", one)
        .put("throughput_8stream_mib_s", eight).put("cpu_us_per_tunnel", cpuPerTunnel);
  }

  private static JsonObject paths() {
    JsonObject paths = new JsonObject();
    for (String p : Report.PATHS) {
      paths.put(p, Report.notMeasured("not selected in this run (--paths)"));
    }
    paths.put("direct", path(2000, 2600, 2400, null));
    paths.put("haproxy", path(1800, 1300, 1200, 100.0));
    paths.put("haproxy-tunnel", path(900, 800, 700, 400.0));
    paths.put("funnel-1jvm", path(450, 600, 560, 2000.0));
    return paths;
  }

  @Test
  void ratiosVsHaproxyTunnelSitNextToThoseVsHaproxy() {
    JsonObject ratios = Report.ratios(paths());
    JsonObject funnel = ratios.getJsonObject("funnel-1jvm");
    assertThat(funnel.getJsonObject("vs_haproxy").getDouble("tunnels_per_s")).isEqualTo(0.25);
    JsonObject fair = funnel.getJsonObject("vs_haproxy_tunnel");
    assertThat(fair.getDouble("tunnels_per_s")).isEqualTo(0.5);
    assertThat(fair.getDouble("throughput_1stream_mib_s")).isEqualTo(0.75);
    assertThat(fair.getDouble("throughput_8stream_mib_s")).isEqualTo(0.8);
    assertThat(fair.getDouble("cpu_us_per_tunnel")).isEqualTo(5.0);
    assertThat(ratios.getJsonObject("haproxy").getJsonObject("vs_haproxy_tunnel").getDouble("cpu_us_per_tunnel"))
        .isEqualTo(0.25);
    // direct has no processes of its own: no CPU per tunnel, no ratio.
    assertThat(ratios.getJsonObject("direct").getJsonObject("vs_haproxy_tunnel").getDouble("cpu_us_per_tunnel"))
        .isNull();
    assertThat(ratios.getJsonObject("nginx").getJsonObject("vs_haproxy_tunnel").getDouble("tunnels_per_s")).isNull();
  }

  @Test
  void notMeasuredHasEveryFigureNull() {
    JsonObject o = Report.notMeasured("haproxy is not installed");
    assertThat(o.containsKey("cpu_us_per_tunnel")).isTrue();
    assertThat(o.getDouble("cpu_us_per_tunnel")).isNull();
  }
}
