package dev.funnel.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
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
}
