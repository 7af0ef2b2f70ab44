package dev.funnel.common.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.options.ServeTarget;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServeFlagsTest {

  @Test
  void routesOnOnePortLongestFirst() {
    ServeConfig config = ServeFlags.parse(List.of("443:/=file:///srv/site", "443:/api=http://127.0.0.1:8080",
        "443:/api/v2/=http://127.0.0.1:8082/v2", "8443=tcp://127.0.0.1:9443"), Map.of());
    ServePort p = config.ports().get(443);
    assertThat(p.routes()).extracting(ServeRoute::path).containsExactly("/api/v2", "/api", "/");
    assertThat(p.route("/api/v2/")).map(r -> r.target().toString()).contains("http://127.0.0.1:8082/v2");
    assertThat(config.agentTargets()).containsEntry(443, ServeTarget.parse("file:///srv/site"))
        .containsEntry(8443, ServeTarget.parse("tcp://127.0.0.1:9443"));
  }

  @ParameterizedTest
  @CsvSource({
      "/, /",
      "/x, /",
      "/api, /api",
      "/api/, /api",
      "/api/users, /api",
      "/apix, /",
      "/api/v2, /api/v2",
      "/api/v2/x, /api/v2",
      "/api/v20, /api"})
  void longestPrefixOnWholeSegments(String path, String route) {
    ServePort p = ServeFlags.parse(List.of("443=text:root", "443:/api=text:api", "443:/api/v2=text:v2"), Map.of())
        .ports().get(443);
    assertThat(p.match(path)).map(ServeRoute::path).contains(route);
  }

  @Test
  void noRootRouteLeavesOtherPathsUnmatched() {
    ServePort p = ServeFlags.parse(List.of("443:/api=text:api"), Map.of()).ports().get(443);
    assertThat(p.match("/other")).isEmpty();
    assertThat(p.match("/api/x")).isPresent();
  }

  @Test
  void gatesOnThePortAndOnARoute() {
    ServeConfig config = ServeFlags.parse(List.of("443=http://127.0.0.1:3000", "443:/hooks=http://127.0.0.1:3001"),
        Map.of("allow-cidr", List.of("443=10.0.0.0/8,192.0.2.7", "443=2001:db8::/32"),
            "rate-limit", List.of("443=20/s", "443:/hooks=5/m"),
            "verify", List.of("443:/hooks=github:/etc/funnel/gh.secret"),
            "auth", List.of("443=oidc", "443:/hooks=off"),
            "max-body", List.of("443:/hooks=1m")));
    ServePort p = config.ports().get(443);
    GatePolicy root = p.effective(p.route("/").orElseThrow());
    GatePolicy hooks = p.effective(p.route("/hooks").orElseThrow());
    assertThat(root.allowCidrs()).containsExactly("10.0.0.0/8", "192.0.2.7/32", "2001:db8:0:0:0:0:0:0/32");
    assertThat(root.rateLimit()).isEqualTo(new GatePolicy.RateLimit(20, Duration.ofSeconds(1)));
    assertThat(root.auth()).isEqualTo(new GatePolicy.Auth(GatePolicy.Auth.Kind.OIDC, null));
    assertThat(root.verify()).isNull();
    assertThat(hooks.allowCidrs()).isEqualTo(root.allowCidrs());
    assertThat(hooks.rateLimit()).isEqualTo(new GatePolicy.RateLimit(5, Duration.ofMinutes(1)));
    assertThat(hooks.auth()).as("off clears the port's login").isNull();
    assertThat(hooks.verify()).isEqualTo(new GatePolicy.Verify(GatePolicy.Verify.Scheme.GITHUB, "X-Hub-Signature-256",
        Path.of("/etc/funnel/gh.secret")));
    assertThat(hooks.maxBodyBytes()).isEqualTo(1024 * 1024);
    assertThat(ServeConfig.fromJson(config.toJson())).isEqualTo(config);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "funnel | 443 | --funnel takes PORT[:/PATH]=TARGET",
      "funnel | 80=http://127.0.0.1:1 | public port 80 is not a Funnel port",
      "funnel | x=http://127.0.0.1:1 | 'x' is not a port",
      "funnel | 443:api=http://127.0.0.1:1 | must start with /",
      "funnel | 443:/a/../b=http://127.0.0.1:1 | segment",
      "funnel | 443:/a%2fb=http://127.0.0.1:1 | may hold only",
      "funnel | 443:/api=tcp://127.0.0.1:1 | tcp:// takes a whole port",
      "funnel | 443:/api=tls-terminated-tcp://127.0.0.1:1 | tls-terminated-tcp:// takes a whole port",
      "funnel | 443=ftp://127.0.0.1:1 | scheme must be",
      "funnel | 443=file://srv/site | absolute directory",
      "funnel | 443=file:/// | whole file system",
      "funnel | 443=file:///srv?list | the only option",
      "funnel | 443=redirect:example.com | redirect: takes an absolute http(s) URL",
      "funnel | 443=redirect:https://x.example/?a=1 | no query",
      "allow-cidr | 443=10.0.0.1/8 | host bits set; did you mean 10.0.0.0/8?",
      "allow-cidr | 443=10.0.0.0/33 | prefix length is 0 to 32",
      "allow-cidr | 443=example.com | is not a CIDR",
      "allow-cidr | 443=10.0.0.0/8 | ",
      "deny-cidr | 443:/nope=10.0.0.0/8 | has no route /nope",
      "deny-cidr | 8443=10.0.0.0/8 | port 8443 is not funnelled",
      "rate-limit | 443=20 | not a rate; write N/s",
      "rate-limit | 443=20/d | the unit is s, m or h",
      "rate-limit | 443=0/s | at least 1",
      "verify | 443=gitlab:/x | unknown verifier 'gitlab'",
      "verify | 443=github: | names no secret file",
      "verify | 443=hmac-sha256:/x | hmac-sha256 takes HEADER:SECRET_FILE",
      "auth | 443=basic | basic needs a file",
      "auth | 443=oidc:/x | oidc takes no file",
      "auth | 443=saml | unknown login 'saml'",
      "max-body | 443=lots | not a size",
      "max-concurrent | 443=0 | at least 1"})
  void refusesWithOneLineNamingTheFlag(String flag, String entry, String reason) {
    List<String> funnels = flag.equals("funnel") ? List.of(entry) : List.of("443=http://127.0.0.1:3000");
    Map<String, List<String>> gates = flag.equals("funnel") ? Map.of() : Map.of(flag, List.of(entry));
    if (reason == null) {
      assertThat(ServeFlags.parse(funnels, gates).ports()).containsKey(443);
      return;
    }
    assertThatThrownBy(() -> ServeFlags.parse(funnels, gates))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--" + flag)
        .hasMessageContaining(reason)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void aRuleTwiceIsAnErrorButCidrsAddUp() {
    assertThatThrownBy(() -> ServeFlags.parse(List.of("443=text:x"), Map.of("rate-limit", List.of("443=1/s", "443=2/s"))))
        .hasMessageContaining("given twice");
    assertThat(ServeFlags.parse(List.of("443=text:x"), Map.of("deny-cidr", List.of("443=10.0.0.0/8", "443=10.0.0.0/8,::1")))
        .ports().get(443).policy().denyCidrs()).containsExactly("10.0.0.0/8", "0:0:0:0:0:0:0:1/128");
  }

  @Test
  void aStreamPortTakesNoGateAndNoOtherRoute() {
    assertThatThrownBy(() -> ServeFlags.parse(List.of("443=tcp://127.0.0.1:9443"), Map.of("allow-cidr", List.of("443=10.0.0.0/8"))))
        .hasMessageContaining("gate rules apply to HTTP targets only");
    assertThatThrownBy(() -> ServeFlags.parse(List.of("443=tcp://127.0.0.1:9443", "443:/x=text:x"), Map.of()))
        .hasMessageContaining("takes a whole port");
    assertThatThrownBy(() -> ServeFlags.parse(List.of("443=text:x", "443:/=text:y"), Map.of()))
        .hasMessageContaining("names 443:/ twice");
  }

  @Test
  void runTimeChangesKeepTheInvariants() {
    ServeConfig config = ServeFlags.parse(List.of("443=http://127.0.0.1:3000"), Map.of());
    ServeConfig added = config.withRoute(443, new ServeRoute("/files", ServeTarget.parse("file:///srv/site")));
    assertThat(added.ports().get(443).routes()).hasSize(2);
    assertThat(added.withoutRoute(443, "/files/")).isEqualTo(config);
    assertThat(added.withoutRoute(443, "/files").withoutRoute(443, "/").ports()).isEmpty();
    assertThatThrownBy(() -> added.withRoute(443, new ServeRoute("/", ServeTarget.parse("tcp://127.0.0.1:1"))))
        .hasMessageContaining("takes a whole port");
  }

  @ParameterizedTest
  @CsvSource({"/api, /api, ''", "/api, /api/, /", "/api, /api/x/y, /x/y", "/, /x, /x", "/, /, /"})
  void restBelowThePrefix(String prefix, String path, String rest) {
    assertThat(RoutePaths.rest(prefix, path)).isEqualTo(rest);
  }
}
