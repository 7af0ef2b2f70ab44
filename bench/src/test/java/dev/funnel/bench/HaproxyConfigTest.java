package dev.funnel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.funnel.common.tls.DevCa;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HaproxyConfigTest {

  private static final String SNI = "web.bench.funnel.localhost";

  @Test
  void sniRouterIsTheHaproxyPathsConfiguration() {
    assertThat(HaproxyConfig.sniRouter(4000, SNI, 5000, 9000, 2)).isEqualTo(String.join("\n",
        "global",
        "  nbthread 2",
        "  maxconn 9000",
        "defaults",
        "  mode tcp",
        "  timeout connect 5s",
        "  timeout client 10m",
        "  timeout server 10m",
        "  maxconn 9000",
        "frontend public",
        "  bind 127.0.0.1:4000",
        "  tcp-request inspect-delay 5s",
        "  tcp-request content accept if { req.ssl_hello_type 1 }",
        "  use_backend node if { req.ssl_sni -i " + SNI + " }",
        "backend node",
        "  server backend 127.0.0.1:5000",
        ""));
  }

  @Test
  void edgeRoutesOnSniToAVerifiedTlsLegWithSessionReuseOn() {
    String edge = HaproxyConfig.tunnelEdge(4001, SNI, 4002, Path.of("/tmp/x/leg-ca/ca.pem"), 9000, 2);
    assertThat(edge.lines()).contains(
        "  mode tcp",
        "  bind 127.0.0.1:4001",
        "  tcp-request inspect-delay 5s",
        "  tcp-request content accept if { req.ssl_hello_type 1 }",
        "  use_backend node if { req.ssl_sni -i " + SNI + " }",
        "  server tunnel-end 127.0.0.1:4002 ssl verify required ca-file /tmp/x/leg-ca/ca.pem verifyhost "
            + HaproxyConfig.TUNNEL_END_NAME);
    // The edge never terminates the client's TLS, and HAProxy's server-side session reuse stays on.
    assertThat(edge).doesNotContain("crt").doesNotContain("no-ssl-reuse").doesNotContain("splice")
        .doesNotContain("mode http");
    assertThat(listenAddresses(edge)).allMatch(a -> a.startsWith("127.0.0.1:"));
  }

  @Test
  void tunnelEndTerminatesTheLegAndForwardsTheStreamInTcpMode() {
    String end = HaproxyConfig.tunnelEnd(4002, Path.of("/tmp/x/tunnel-end.pem"), 5000, 9000, 2);
    assertThat(end.lines()).contains(
        "  nbthread 2",
        "  mode tcp",
        "  bind 127.0.0.1:4002 ssl crt /tmp/x/tunnel-end.pem",
        "  default_backend app",
        "  server backend 127.0.0.1:5000");
    // Plain TCP to the backend: the client's TLS goes through untouched.
    assertThat(end.lines().map(String::trim).filter(l -> l.startsWith("server "))).singleElement().asString().doesNotContain("ssl");
    assertThat(end).doesNotContain("req.ssl_sni").doesNotContain("mode http");
    assertThat(listenAddresses(end)).allMatch(a -> a.startsWith("127.0.0.1:"));
  }

  /** With haproxy installed, {@code haproxy -c} accepts both configs with real files (certificate, CA). */
  @Test
  void haproxyAcceptsBothConfigs(@TempDir Path dir) throws Exception {
    assumeThat(onPath("haproxy")).as("haproxy on PATH").isTrue();
    DevCa ca = DevCa.loadOrCreate(dir.resolve("leg-ca"));
    DevCa.KeyAndChain leaf = ca.issue(List.of(HaproxyConfig.TUNNEL_END_NAME), Duration.ofDays(1));
    Path pem = Files.writeString(dir.resolve("tunnel-end.pem"), leaf.chainPem() + leaf.keyPem());
    Path end = Files.writeString(dir.resolve("end.cfg"), HaproxyConfig.tunnelEnd(4002, pem, 5000, 1000, 2));
    Path edge = Files.writeString(dir.resolve("edge.cfg"),
        HaproxyConfig.tunnelEdge(4001, SNI, 4002, ca.caPemPath(), 1000, 2));
    for (Path cfg : List.of(end, edge)) {
      String out = Child.run(List.of("haproxy", "-c", "-f", cfg.toString()), Map.of(), 30_000);
      assertThat(out).contains("Configuration file is valid");
    }
  }

  @Test
  void missingToolsAreNamed() {
    assertThat(Ingress.unavailableReason("direct")).isNull();
    assertThat(Ingress.unavailableReason("funnel-1jvm")).isNull();
    String reason = Ingress.unavailableReason("haproxy-tunnel");
    if (onPath("haproxy")) {
      assertThat(reason).isNull();
    } else {
      assertThat(reason).contains("haproxy is not installed");
    }
  }

  private static List<String> listenAddresses(String config) {
    return config.lines().map(String::trim).filter(l -> l.startsWith("bind ") || l.startsWith("server "))
        .map(l -> l.startsWith("bind ") ? l.split("\\s+")[1] : l.split("\\s+")[2]).toList();
  }

  private static boolean onPath(String tool) {
    return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, tool)));
  }
}
