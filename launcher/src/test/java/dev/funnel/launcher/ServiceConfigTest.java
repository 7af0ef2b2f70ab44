package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.cluster.ClusterOptions;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.options.GatewayOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Settings of the clustered services: a YAML or JSON file, under FUNNEL_* variables, under flags. */
@Timeout(30)
class ServiceConfigTest {

  @TempDir
  Path dir;

  private static ServiceConfig load(Object command, Map<String, String> env, String... args) {
    CommandLine line = new CommandLine(command);
    line.parseArgs(args);
    return ServiceConfig.load(line.getCommandSpec(), env);
  }

  @Test
  void flagsWinOverTheEnvironmentWhichWinsOverTheFile() throws Exception {
    Path file = Files.writeString(dir.resolve("cluster.yaml"), String.join("\n",
        "cluster: true",
        "cluster-host: 10.0.0.11",
        "cluster-port: 5701",
        "cluster-members: [10.0.0.11:5701, 10.0.0.12:5701]",
        "admin-listen: 10.0.0.11:7080",
        "domain: file.example",
        "gateway-listen: 0.0.0.0:7443   # another service's setting: allowed, ignored here",
        ""));
    ServiceConfig config = load(new RegistryCommand(), Map.of("FUNNEL_CLUSTER_PORT", "5702", "FUNNEL_DOMAIN", "env.example"),
        "--config", file.toString(), "--domain", "flag.example");
    assertThat(config.string("domain", null)).isEqualTo("flag.example");
    assertThat(config.number("cluster-port", 0)).isEqualTo(5702);
    assertThat(config.hostPort("admin-listen", null)).isEqualTo(new HostPort("10.0.0.11", 7080));
    ClusterOptions cluster = ClusterFlags.options(config, "registry");
    assertThat(cluster.getHost()).isEqualTo("10.0.0.11");
    assertThat(cluster.getMembers()).containsExactly(new HostPort("10.0.0.11", 5701), new HostPort("10.0.0.12", 5701));
  }

  @Test
  void theDeployExampleIsValidForEveryService() {
    Path example = Path.of("..", "deploy", "config", "cluster.yaml");
    Map<String, String> env = Map.of("FUNNEL_CLUSTER_HOST", "10.0.0.12", "FUNNEL_STORE", "postgresql://funnel:x@10.0.0.20/funnel",
        "FUNNEL_JAVA_OPTS", "-Xmx512m");
    for (Object command : List.of(new FrontendCommand(), new RegistryCommand(), new GatewayCommand(), new DnsCommand())) {
      ServiceConfig config = load(command, env, "--config", example.toString(), "--cluster-port", "5702");
      ClusterOptions cluster = ClusterFlags.options(config, "test");
      assertThat(cluster.getHost()).isEqualTo("10.0.0.12");
      assertThat(cluster.getPort()).isEqualTo(5702);
      assertThat(cluster.getMembers()).hasSize(9).contains(new HostPort("10.0.0.13", 5703));
      assertThat(config.string("domain", null)).isEqualTo("funnel.example.com");
    }
  }

  @Test
  void jsonFilesAndCommaListsAndRepeatedFlagsWork() throws Exception {
    Path file = Files.writeString(dir.resolve("frontend.json"),
        "{\"cluster\": true, \"cluster-members\": \"127.0.0.1:5701,127.0.0.1:5702\", \"public\": [\"443=127.0.0.1:0\"]}");
    ServiceConfig config = load(new FrontendCommand(), Map.of(), "--config", file.toString(),
        "--public", "8443=127.0.0.1:0", "--public", "10000=127.0.0.1:0");
    assertThat(config.list("public", List.of())).containsExactly("8443=127.0.0.1:0", "10000=127.0.0.1:0");
    assertThat(ClusterFlags.options(config, "frontend").getMembers()).hasSize(2);
  }

  @Test
  void theClusteredFrontendAndGatewayTakeTheirLimitsFromFileEnvironmentAndFlags() throws Exception {
    Path file = Files.writeString(dir.resolve("limits.yaml"), String.join("\n",
        "max-connections: 50000",
        "source-rate: 2.5",
        "max-tunnels-per-node: 4096",
        ""));
    ServiceConfig frontend = load(new FrontendCommand(), Map.of("FUNNEL_SOURCE_BURST", "40"), "--config", file.toString(),
        "--max-connections-per-source", "512");
    FrontendOptions options = FrontendLimitFlags.applyTo(new FrontendOptions(), frontend);
    assertThat(options.getMaxConnections()).isEqualTo(50_000);
    assertThat(options.getSourceRatePerSecond()).isEqualTo(2.5);
    assertThat(options.getSourceBurst()).isEqualTo(40);
    assertThat(options.getMaxConnectionsPerSource()).isEqualTo(512);
    assertThat(options.getIdleTimeoutSeconds()).isEqualTo(FrontendOptions.DEFAULT_IDLE_TIMEOUT_SECONDS);

    ServiceConfig gateway = load(new GatewayCommand(), Map.of(), "--config", file.toString());
    assertThat(GatewayLimitFlags.applyTo(new GatewayOptions(), gateway).getMaxTunnelsPerNode()).isEqualTo(4096);
    assertThat(GatewayLimitFlags.applyTo(new GatewayOptions(), load(new GatewayCommand(), Map.of())).getMaxTunnelsPerNode())
        .isEqualTo(GatewayOptions.DEFAULT_MAX_TUNNELS_PER_NODE);
  }

  @Test
  void aLimitThatMakesNoSenseIsRefusedWithItsName() {
    assertThatThrownBy(() -> FrontendLimitFlags.applyTo(new FrontendOptions(),
        load(new FrontendCommand(), Map.of(), "--source-rate", "0")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--source-rate");
    assertThatThrownBy(() -> FrontendLimitFlags.applyTo(new FrontendOptions(),
        load(new FrontendCommand(), Map.of("FUNNEL_MAX_CONNECTIONS", "lots"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max-connections");
    assertThatThrownBy(() -> GatewayLimitFlags.applyTo(new GatewayOptions(),
        load(new GatewayCommand(), Map.of(), "--max-tunnels-per-node", "0")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--max-tunnels-per-node");
    assertThatThrownBy(() -> FrontendLimitFlags.applyTo(new FrontendOptions(),
        load(new FrontendCommand(), Map.of(), "--drain-timeout-s", "-1")))
        .hasMessage("--drain-timeout-s -1: must be 0 (at once) or more");
    assertThat(FrontendLimitFlags.applyTo(new FrontendOptions(),
        load(new FrontendCommand(), Map.of("FUNNEL_DRAIN_TIMEOUT_S", "0"))).getDrainTimeoutSeconds()).isZero();
  }

  @Test
  void withoutMembersAMemberJoinsOnlyItself() {
    ServiceConfig config = load(new GatewayCommand(), Map.of(), "--cluster", "--cluster-host", "127.0.0.1",
        "--cluster-port", "15999");
    assertThat(ClusterFlags.options(config, "gateway").getMembers()).containsExactly(new HostPort("127.0.0.1", 15999));
  }

  @Test
  void mistakesAreRefusedWithTheSettingsName() throws Exception {
    Path typo = Files.writeString(dir.resolve("typo.yaml"), "cluster: true\nclustre-host: 10.0.0.1\n");
    assertThatThrownBy(() -> load(new RegistryCommand(), Map.of(), "--config", typo.toString()))
        .hasMessageContaining("unknown setting 'clustre-host'");
    assertThatThrownBy(() -> ClusterFlags.options(load(new RegistryCommand(), Map.of()), "registry"))
        .hasMessageContaining("--cluster");
    assertThatThrownBy(() -> ClusterFlags.options(load(new RegistryCommand(), Map.of(), "--cluster",
        "--cluster-members", "10.0.0.1:5701-5703"), "registry")).hasMessageContaining("no ranges");
    assertThatThrownBy(() -> ClusterFlags.options(load(new RegistryCommand(), Map.of(), "--cluster",
        "--cluster-port", "seventy"), "registry")).hasMessageContaining("cluster-port");
    assertThatThrownBy(() -> load(new RegistryCommand(), Map.of(), "--config", dir.resolve("missing.yaml").toString()))
        .hasMessageContaining("cannot read");
  }

  @Test
  void theServerTakesItsSettingsFromAFileUnderTheEnvironmentUnderTheFlags() throws Exception {
    Path file = Files.writeString(dir.resolve("server.yaml"), String.join("\n",
        "domain: file.example",
        "state: /var/lib/funnel",
        "public: [443=127.0.0.1:8443, 8443=127.0.0.1:9443]",
        "admin-listen: 127.0.0.1:17080",
        "no-access-log: true",
        "max-connections: 5000",
        "dns-listen: 127.0.0.1:15353",
        ""));
    CommandLine line = FunnelCommand.commandLine();
    line.parseArgs("server", "--config", file.toString(), "--domain", "flag.example", "--gateway-listen", "127.0.0.1:17443");
    ServerCommand given = line.getSubcommands().get("server").getCommand();
    ServerCommand server = given.withConfig(Map.of("FUNNEL_ADMIN_LISTEN", "127.0.0.1:27080", "FUNNEL_DOMAIN", "env.example"));
    assertThat(server.domain).isEqualTo("flag.example");
    assertThat(server.state).isEqualTo(Path.of("/var/lib/funnel"));
    assertThat(Flags.publicListeners(server.publicListeners)).containsOnlyKeys(443, 8443);
    assertThat(server.adminListen).isEqualTo(new HostPort("127.0.0.1", 27080));
    assertThat(server.gatewayListen).isEqualTo(new HostPort("127.0.0.1", 17443));
    assertThat(server.noAccessLog).isTrue();
    assertThat(server.limits.frontend.maxConnections).isEqualTo(5000);
    assertThat(server.dns.listen).isEqualTo(new HostPort("127.0.0.1", 15353));
    assertThat(server.metricsListen).as("not in the file: the default").isNull();
    assertThat(server.clientHelloTimeoutMillis).isEqualTo(10_000);
  }
}
