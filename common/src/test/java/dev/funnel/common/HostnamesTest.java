package dev.funnel.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class HostnamesTest {

  @ParameterizedTest
  @ValueSource(strings = {"a", "web", "node-1", "0", "a--b",
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
  void labels(String s) {
    assertThat(Hostnames.isLabel(s)).isTrue();
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"-a", "a-", "A", "Web", "a_b", "a.b", "a b", "ü", " a",
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
  void notLabels(String s) {
    assertThat(Hostnames.isLabel(s)).isFalse();
  }

  @ParameterizedTest
  @CsvSource({
      "web.demo.funnel.example, web.demo.funnel.example",
      "WEB.Demo.FUNNEL.example, web.demo.funnel.example",
      "web.demo.funnel.example., web.demo.funnel.example",
      "localhost, localhost",
      "a-b.c, a-b.c"})
  void normalises(String in, String out) {
    assertThat(Hostnames.normalise(in)).contains(out);
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {".", "..", "web..example", ".web.example", "web.example..", "1.2.3.4", "10.0.0.1.",
      "::1", "[::1]", "fe80::1%eth0", "under_score.example", "-web.example", "web-.example", "bücher.example",
      "sp ace.example", "web.example/path", "\u212Aey.example", "web.demo.\u0130nfo"})
  void refusesNamesThatCanNeverBeRouted(String in) {
    assertThat(Hostnames.normalise(in)).isEmpty();
  }

  @ParameterizedTest
  @CsvSource({
      "blog.example.com, blog.example.com",
      "Blog.Example.COM., blog.example.com",
      "example.com, example.com",
      "a.b.c.d.example.co.uk, a.b.c.d.example.co.uk",
      "funnel.example.org, funnel.example.org"})
  void aliases(String in, String out) {
    assertThat(Hostnames.alias(in, "funnel.example")).contains(out);
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"localhost", "com", "funnel.example", "web.demo.funnel.example", "x.funnel.example",
      "FUNNEL.example.", "1.2.3.4", "_funnel-challenge.blog.example.com", "*.example.com", "blog..example.com"})
  void notAliases(String in) {
    assertThat(Hostnames.alias(in, "funnel.example")).isEmpty();
  }

  @org.junit.jupiter.api.Test
  void normaliseCapsTheLength() {
    String label = "a".repeat(63);
    String name253 = label + "." + label + "." + label + "." + "a".repeat(61);
    assertThat(name253).hasSize(253);
    assertThat(Hostnames.normalise(name253)).contains(name253);
    assertThat(Hostnames.normalise(name253 + "a")).isEmpty();
    assertThat(Hostnames.normalise(name253 + ".")).contains(name253);
  }

  @ParameterizedTest
  @CsvSource({
      "web.demo.funnel.example, funnel.example, web, demo",
      "a.b.funnel.localhost, funnel.localhost, a, b",
      "x-1.t-2.example, example, x-1, t-2"})
  void parsesNodeAndTailnet(String name, String domain, String node, String tailnet) {
    Optional<Hostnames.FunnelName> parsed = Hostnames.parse(name, domain);
    assertThat(parsed).contains(new Hostnames.FunnelName(node, tailnet, domain));
    assertThat(parsed.get().fqdn()).isEqualTo(name);
  }

  @ParameterizedTest
  @CsvSource({
      "funnel.example, funnel.example",
      "demo.funnel.example, funnel.example",
      "a.b.demo.funnel.example, funnel.example",
      "web.demo.other.example, funnel.example",
      "web.demoxfunnel.example, funnel.example",
      "web.demo.xfunnel.example, funnel.example",
      ".demo.funnel.example, funnel.example",
      "web..funnel.example, funnel.example"})
  void refusesNamesNotExactlyNodeTailnetDomain(String name, String domain) {
    assertThat(Hostnames.parse(name, domain)).isEmpty();
  }

  /** The label and IPv4 checks are hand-written for speed; they agree with the regexes they replaced. */
  @Test
  void handWrittenChecksAgreeWithTheRegexesOnRandomNames() {
    Pattern label = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    Pattern ipv4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    String alphabet = "ab09-.Z_";
    Random random = new Random(15);
    for (int n = 0; n < 200_000; n++) {
      int length = random.nextInt(n % 10 == 0 ? 70 : 16);
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < length; i++) {
        b.append(n % 3 == 0 ? "0123456789.".charAt(random.nextInt(11)) : alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String s = b.toString();
      assertThat(Hostnames.isLabel(s)).as("isLabel(\"%s\")", s).isEqualTo(label.matcher(s).matches());
      assertThat(Hostnames.looksLikeIpv4(s)).as("looksLikeIpv4(\"%s\")", s).isEqualTo(ipv4.matcher(s).matches());
    }
    for (String literal : new String[] {"1.2.3.4", "255.255.255.255", "0.0.0.0", "1.2.3.4."}) {
      assertThat(Hostnames.normalise(literal)).isEmpty();
    }
    for (String name : new String[] {"1.2.3.4.5", "1.2.3", "1234.1.1.1"}) {
      assertThat(Hostnames.normalise(name)).contains(name);
    }
  }
}
