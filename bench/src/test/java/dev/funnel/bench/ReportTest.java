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
  void markdownHasTheCpuPerTunnelColumnAndTheTableAgainstHaproxyTunnel() {
    JsonObject paths = paths();
    JsonObject report = new JsonObject()
        .put("machine", new JsonObject().put("started_at", "2026-12-02T00:00:00Z").put("cores", 2)
            .put("cpu_model", "x").put("jvm", "y"))
        .put("plan", new JsonObject().put("quick", true).put("https_connections", 32))
        .put("paths", paths)
        .put("https", new JsonObject().putNull("nginx_rps").putNull("funnel_terminator_rps"))
        .put("ratios", Report.ratios(paths))
        .put("targets", Report.targets(paths, new JsonObject().putNull("nginx_rps").putNull("funnel_terminator_rps")));
    String md = Report.markdown(report, "./bench/run --quick");
    assertThat(md).contains("| CPU µs per tunnel |");
    assertThat(md).contains("| vs haproxy-tunnel (same run) | new tunnels/s | 1 stream | 8 streams | CPU µs per tunnel |");
    assertThat(md).contains("| funnel-1jvm | 0.500× | 0.750× | 0.800× | 5.00× |");
    assertThat(md).contains("| haproxy | 2.00× | 1.63× | 1.71× | 0.250× |");
    // The HTTPS table: requests per second and the upload ratio, nginx's beside Funnel's.
    assertThat(md).contains("| nginx TLS → HTTP backend | – | – |");
    String withUploads = Report.markdown(report.copy().put("https", new JsonObject().put("nginx_rps", 30000.0)
        .put("funnel_terminator_rps", 12000.0).put("nginx_upload_http2_over_http1", 1.4)
        .put("funnel_terminator_upload_http2_over_http1", 1.3)), "./bench/run --quick");
    assertThat(withUploads).contains("| nginx TLS → HTTP backend | 30000 | 1.40 |");
    assertThat(withUploads).contains("| funnel frontend → gateway → node terminator → HTTP backend | 12000 | 1.30 |");
    // Every row of the main table has as many cells as its header.
    md.lines().filter(l -> l.startsWith("| ") && l.contains("not measured: not selected"))
        .forEach(l -> assertThat(l.chars().filter(c -> c == '|').count()).isEqualTo(11));
  }

  @Test
  void notMeasuredHasEveryFigureNull() {
    JsonObject o = Report.notMeasured("haproxy is not installed");
    assertThat(o.containsKey("cpu_us_per_tunnel")).isTrue();
    assertThat(o.getDouble("cpu_us_per_tunnel")).isNull();
  }

  @Test
  void warmUpTargetComparesTheRateSoonAfterAStartWithTheWarmRate() {
    JsonObject paths = paths();
    paths.getJsonObject("funnel-1jvm").put("tunnels_per_s_after_start", 360.0)
        .put("warmup_ratio", Suite.warmupRatio(360.0, 450));
    var targets = Report.targets(paths, new JsonObject().putNull("nginx_rps").putNull("funnel_terminator_rps"));
    JsonObject warmUp = targets.stream().map(JsonObject.class::cast)
        .filter(t -> t.getString("target").contains("after start")).findFirst().orElseThrow();
    assertThat(warmUp.getDouble("value")).isEqualTo(0.8);
    assertThat(warmUp.getBoolean("met")).isTrue();
    paths.getJsonObject("funnel-1jvm").put("warmup_ratio", Suite.warmupRatio(225.0, 450));
    warmUp = Report.targets(paths, new JsonObject()).stream().map(JsonObject.class::cast)
        .filter(t -> t.getString("target").contains("after start")).findFirst().orElseThrow();
    assertThat(warmUp.getDouble("value")).isEqualTo(0.5);
    assertThat(warmUp.getBoolean("met")).isFalse();
  }

  @Test
  void warmUpRatioIsNullWithoutBothRates() {
    assertThat(Suite.warmupRatio(null, 450)).isNull();
    assertThat(Suite.warmupRatio(100.0, 0)).isNull();
    assertThat(Suite.warmupRatio(100.0, Double.NaN)).isNull();
  }
}
