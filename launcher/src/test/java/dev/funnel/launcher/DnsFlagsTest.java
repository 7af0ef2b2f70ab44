package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.dns.DnsOptions;
import dev.funnel.dns.Zone;
import dev.funnel.dns.push.PushOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@Timeout(30)
class DnsFlagsTest {

  @TempDir
  Path dir;

  @Test
  void theServerRunsNoDnsUnlessDnsListenIsGiven() {
    ServerCommand off = new ServerCommand();
    new CommandLine(off).parseArgs();
    assertThat(off.dns.options("funnel.localhost")).isNull();

    ServerCommand on = new ServerCommand();
    new CommandLine(on).parseArgs("--dns-listen", "127.0.0.1:0", "--dns-frontend", "198.51.100.1",
        "--dns-frontends", "eu=192.0.2.1,2001:db8::1", "--dns-gateway-region", "gateway-1=eu", "--dns-caa", "none");
    DnsOptions options = on.dns.options("funnel.localhost");
    assertThat(options.getHost()).isEqualTo("127.0.0.1");
    assertThat(options.getPort()).isZero();
    assertThat(options.getFrontends()).isEqualTo(Map.of("eu", List.of("192.0.2.1", "2001:db8::1"),
        "", List.of("198.51.100.1")));
    assertThat(options.getGatewayRegions()).isEqualTo(Map.of("gateway-1", "eu"));
    assertThat(options.getCaaIssuers()).isEmpty();
    assertThat(options.getAddressTtl()).isEqualTo(DnsOptions.DEFAULT_ADDRESS_TTL);
    Zone.of(options);
  }

  @Test
  void theClusteredCommandReadsTheSameSettingsFromAFileWithCommaLists() throws Exception {
    Path file = Files.writeString(dir.resolve("dns.yaml"), String.join("\n",
        "domain: funnel.example.com",
        "dns-listen: 0.0.0.0:53",
        "dns-frontends: [eu=203.0.113.10, 2001:db8::10, us=198.51.100.10]",
        "dns-ns: ns1.funnel.example.com=203.0.113.53,ns2.example.net",
        "dns-ttl: 30",
        ""));
    CommandLine line = new CommandLine(new DnsCommand());
    line.parseArgs("--config", file.toString(), "--dns-rate-limit", "5");
    ServiceConfig config = ServiceConfig.load(line.getCommandSpec(), Map.of());
    DnsOptions options = DnsFlags.options(config, "funnel.example.com");
    assertThat(options.getPort()).isEqualTo(53);
    assertThat(options.getFrontends()).isEqualTo(Map.of("eu", List.of("203.0.113.10", "2001:db8::10"),
        "us", List.of("198.51.100.10")));
    assertThat(options.getNameservers()).containsExactly("ns1.funnel.example.com", "ns2.example.net");
    assertThat(options.getNameserverAddresses()).isEqualTo(Map.of("ns1.funnel.example.com", List.of("203.0.113.53")));
    assertThat(options.getAddressTtl()).isEqualTo(30);
    assertThat(options.getRateLimit()).isEqualTo(5);
    assertThat(options.getCaaIssuers()).isEqualTo(DnsOptions.DEFAULT_CAA_ISSUERS);
    Zone.of(options);
  }

  @Test
  void theDeployExampleDescribesAZone() {
    CommandLine line = new CommandLine(new DnsCommand());
    line.parseArgs("--config", Path.of("..", "deploy", "config", "cluster.yaml").toString(), "--dns-listen", "0.0.0.0:53");
    ServiceConfig config = ServiceConfig.load(line.getCommandSpec(), Map.of("FUNNEL_CLUSTER_HOST", "10.0.0.12"));
    Zone zone = Zone.of(DnsFlags.options(config, config.string("domain", null)));
    assertThat(zone.origin()).isEqualTo("funnel.example.com");
    assertThat(zone.allFrontends()).hasSize(3);
    assertThat(zone.nameservers()).containsExactly("ns1.funnel.example.com", "ns2.funnel.example.com");
  }

  @Test
  void theDefaultListenerOfFunnelDnsIsTheDevelopmentOne() {
    CommandLine line = new CommandLine(new DnsCommand());
    line.parseArgs();
    DnsOptions options = DnsFlags.options(ServiceConfig.load(line.getCommandSpec(), Map.of()), "funnel.localhost");
    assertThat(options.getHost() + ":" + options.getPort()).isEqualTo("127.0.0.1:5353");
  }

  @Test
  void badValuesSayWhichFlag() {
    assertThatThrownBy(() -> DnsFlags.grouped(List.of("eu=192.0.2.1,not-an-ip"), "", "--dns-frontends"))
        .hasMessageContaining("--dns-frontends").hasMessageContaining("not-an-ip");
    ServerCommand bad = new ServerCommand();
    new CommandLine(bad).parseArgs("--dns-listen", "127.0.0.1:0", "--dns-gateway-region", "gateway-1");
    assertThatThrownBy(() -> bad.dns.options("funnel.localhost")).hasMessageContaining("--dns-gateway-region");
  }

  static final String SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";

  @Test
  void pushIsOffUnlessGivenAndNeedsAKey() throws Exception {
    ServerCommand off = new ServerCommand();
    new CommandLine(off).parseArgs();
    assertThat(off.dns.pushOptions("funnel.localhost")).isNull();

    Path key = Files.writeString(dir.resolve("tsig.key"), "key \"funnel\" {\n  algorithm hmac-sha512;\n  secret \""
        + SECRET + "\";\n};\n");
    ServerCommand on = new ServerCommand();
    new CommandLine(on).parseArgs("--dns-push", "127.0.0.1:5300", "--dns-push-tsig", "funnel:HMAC-SHA512:" + key);
    PushOptions push = on.dns.pushOptions("funnel.localhost");
    assertThat(push.getHost() + ":" + push.getPort()).isEqualTo("127.0.0.1:5300");
    assertThat(push.getZone()).as("the base domain by default").isEqualTo("funnel.localhost");
    assertThat(push.getTsigName()).isEqualTo("funnel");
    assertThat(push.getTsigAlgorithm()).isEqualTo("hmac-sha512");
    assertThat(push.getTsigSecret()).isEqualTo(SECRET);
    assertThat(on.dns.options("funnel.localhost")).as("push alone serves nothing").isNull();
    Zone.of(on.dns.zoneOptions("funnel.localhost"));
  }

  @Test
  void theClusteredCommandReadsPushSettingsToo() throws Exception {
    Path key = Files.writeString(dir.resolve("tsig.key"), SECRET + "\n");
    Path file = Files.writeString(dir.resolve("dns.yaml"), String.join("\n",
        "domain: funnel.example.com",
        "dns-push: 192.0.2.53:53",
        "dns-push-zone: example.com",
        "dns-push-tsig: funnel:hmac-sha256:" + key,
        ""));
    CommandLine line = new CommandLine(new DnsCommand());
    line.parseArgs("--config", file.toString());
    PushOptions push = DnsFlags.pushOptions(ServiceConfig.load(line.getCommandSpec(), Map.of()), "funnel.example.com");
    assertThat(push.getZone()).isEqualTo("example.com");
    assertThat(push.getTsigSecret()).isEqualTo(SECRET);
  }

  @Test
  void badPushFlagsSayWhichFlagAndNeverTheSecret() throws Exception {
    Path key = Files.writeString(dir.resolve("tsig.key"), SECRET + "\n");
    Path empty = Files.writeString(dir.resolve("empty.key"), "\n");
    assertThatThrownBy(() -> push("--dns-push", "127.0.0.1:53"))
        .hasMessage("--dns-push needs --dns-push-tsig NAME:ALGORITHM:SECRET_FILE: updates are signed with TSIG");
    assertThatThrownBy(() -> push("--dns-push-tsig", "funnel:hmac-sha256:" + key))
        .hasMessageStartingWith("--dns-push-tsig needs --dns-push HOST:PORT");
    assertThatThrownBy(() -> push("--dns-push", "127.0.0.1:53", "--dns-push-tsig", "funnel:" + key))
        .hasMessageStartingWith("--dns-push-tsig takes NAME:ALGORITHM:SECRET_FILE");
    assertThatThrownBy(() -> push("--dns-push", "127.0.0.1:53", "--dns-push-tsig", "funnel:hmac-sha256:" + dir.resolve("nope")))
        .hasMessageStartingWith("--dns-push-tsig: cannot read the secret file");
    assertThatThrownBy(() -> push("--dns-push", "127.0.0.1:53", "--dns-push-tsig", "funnel:hmac-sha256:" + empty))
        .hasMessageContaining("--dns-push-tsig: ").hasMessageContaining("holds no TSIG secret");
    assertThatThrownBy(() -> push("--dns-push", "127.0.0.1:53", "--dns-push-tsig", "funnel:hmac-sha3:" + key))
        .hasMessageStartingWith("--dns-push-tsig: TSIG algorithm 'hmac-sha3'").hasMessageNotContaining(SECRET);
    assertThatThrownBy(() -> push("--dns-push", "127.0.0.1:53", "--dns-push-zone", "example.com",
        "--dns-push-tsig", "funnel:hmac-sha256:" + key))
        .hasMessageStartingWith("--dns-push-zone: zone example.com does not hold the base domain funnel.localhost");
  }

  private static PushOptions push(String... args) {
    ServerCommand command = new ServerCommand();
    new CommandLine(command).parseArgs(args);
    return command.dns.pushOptions("funnel.localhost");
  }

  @Test
  void withoutDnsFrontendsTheServersOwnPublicAddressesAreAnsweredWhenTheyAreSpecific() {
    ServerCommand dev = new ServerCommand();
    new CommandLine(dev).parseArgs("--dns-listen", "127.0.0.1:0");
    dev.dns.defaultFrontends(List.of(HostPort.parse("127.0.0.1:8443"), HostPort.parse("127.0.0.1:9443"),
        HostPort.parse("[::1]:8443")));
    assertThat(dev.dns.options("funnel.localhost").getFrontends()).isEqualTo(Map.of("", List.of("127.0.0.1", "::1")));

    for (String wildcard : List.of("0.0.0.0:443", "[::]:443", "frontend.example.com:443")) {
      ServerCommand any = new ServerCommand();
      new CommandLine(any).parseArgs("--dns-listen", "127.0.0.1:0");
      any.dns.defaultFrontends(List.of(HostPort.parse("127.0.0.1:8443"), HostPort.parse(wildcard)));
      assertThat(any.dns.options("funnel.localhost").getFrontends()).as(wildcard).isEmpty();
    }

    ServerCommand given = new ServerCommand();
    new CommandLine(given).parseArgs("--dns-listen", "127.0.0.1:0", "--dns-frontends", "203.0.113.10");
    given.dns.defaultFrontends(List.of(HostPort.parse("127.0.0.1:8443")));
    assertThat(given.dns.options("funnel.localhost").getFrontends()).isEqualTo(Map.of("", List.of("203.0.113.10")));
  }
}
