package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The console's HTML: one escaping function, used for every value, in content and attributes. */
class ConsoleRenderingTest {

  static final String EVIL = "<script>alert('x')</script>\"&";
  static final String EVIL_ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;";
  static final Instant T = Instant.parse("2026-12-02T16:00:00Z");

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "plain|plain",
      "a<b|a&lt;b",
      "a>b|a&gt;b",
      "a&b|a&amp;b",
      "`say \"hi\"`|say &quot;hi&quot;",
      "it's|it&#39;s",
      "&amp;|&amp;amp;",
      "<img src=x onerror=alert(1)>|&lt;img src=x onerror=alert(1)&gt;",
      "`   `|`   `",
  })
  void escape(String in, String out) {
    assertThat(Html.escape(in)).isEqualTo(out);
  }

  @Test
  void placeholdersEscapeDataAndKeepMarkup() {
    assertThat(Html.of("<td title=\"{}\">{}</td>", "\"><x", Html.of("<b>{}</b>", "<i>")).value())
        .isEqualTo("<td title=\"&quot;&gt;&lt;x\"><b>&lt;i&gt;</b></td>");
    assertThat(Html.of("{}", (Object) null).value()).isEmpty();
    assertThatThrownBy(() -> Html.of("{} {}", "one")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Html.of("{}", "one", "two")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aTailnetNamedLikeAScriptIsShownEscaped() {
    String page = ConsoleTables.tailnets("csrf", null, List.of(new Tailnet(EVIL, true, List.of(443), T))).value();
    assertThat(page).contains(EVIL_ESCAPED).doesNotContain("<script>alert");
    // in attribute values too (data-tailnet, the form's action)
    assertThat(page).contains("data-tailnet=\"" + EVIL_ESCAPED + "\"");
  }

  @Test
  void aNodeNamedLikeAScriptIsShownEscaped() {
    NodeIdentity node = new NodeIdentity("n1", EVIL, "acme", "pk", "k1", T);
    NodeView view = new NodeView(node, EVIL + ".acme.funnel.test", true,
        List.of("gw-<b>"), List.of(443), Map.of());
    String rows = ConsoleTables.nodeRows("csrf", List.of(view), Map.of()).value();
    assertThat(rows).contains(EVIL_ESCAPED).contains("gw-&lt;b&gt;").doesNotContain("<script>alert")
        .doesNotContain("<b>");
  }

  @Test
  void aFlashMessageAndTheCsrfTokenAreEscaped() {
    String page = ConsolePages.page("t", ConsolePages.Tab.NODES, "\"><script>", new ConsolePages.Flash(false, EVIL),
        Html.EMPTY).value();
    assertThat(page).doesNotContain("<script>alert").doesNotContain("\"><script>").contains(EVIL_ESCAPED);
  }

  @Test
  void aNodePortShowsWhetherTheTailnetsPolicyRefusesIt() {
    Tailnet on443 = new Tailnet("acme", true, List.of(443), T);
    Tailnet off = new Tailnet("acme", false, List.of(443, 8443), T);
    assertThat(ConsoleTables.refusal(on443, 443)).isEmpty();
    assertThat(ConsoleTables.refusal(on443, 8443)).contains("the tailnet does not allow this port");
    assertThat(ConsoleTables.refusal(off, 443)).contains("Funnel is off for the tailnet");
    assertThat(ConsoleTables.refusal(null, 443)).isEqualTo(Optional.of("tailnet unknown"));

    NodeIdentity node = new NodeIdentity("n1", "web", "acme", "pk", "k1", T);
    String rows = ConsoleTables.nodeRows("c", List.of(new NodeView(node, "web.acme.funnel.test", true,
        List.of("gw1"), List.of(443, 8443), Map.of())), Map.of("acme", on443)).value();
    assertThat(rows).contains("<span class=\"badge on\">443</span>").contains("8443 refused</span><span class=\"why\">the tailnet does not allow this port");
  }

  @ParameterizedTest
  @CsvSource({
      "false, , , , usable",
      "false, 2026-12-02T15:00:00Z, , , used",
      "true, 2026-12-02T15:00:00Z, , , usable",
      "true, , 2026-12-02T15:30:00Z, , expired",
      "true, , , 2026-12-02T15:30:00Z, revoked",
  })
  void keyStates(boolean reusable, Instant used, Instant expires, Instant revoked, String state) {
    AuthKeyInfo k = new AuthKeyInfo("k1", "acme", reusable, expires, used, revoked, T.minusSeconds(7200));
    assertThat(ConsoleTables.state(k, T)).isEqualTo(state);
  }

  @Test
  void aNodesCertificateShowsItsDaysLeft() {
    java.time.Instant now = java.time.Instant.parse("2026-12-01T00:00:00Z");
    NodeIdentity node = new NodeIdentity("n1", "web", "acme", "pk", "k1", T);
    record Row(java.time.Instant notAfter, String shown) {
    }
    for (Row row : List.of(new Row(null, "—"), new Row(now.plus(java.time.Duration.ofDays(60)), "60 days left"),
        new Row(now.plus(java.time.Duration.ofHours(36)), "1 day left"), new Row(now.minusSeconds(1), "expired"))) {
      NodeView v = new NodeView(node, "web.acme.funnel.test", true, List.of(), List.of(),
          java.util.Map.of(), row.notAfter());
      assertThat(ConsoleTables.certificate(v, now).value()).as(String.valueOf(row.notAfter())).contains(row.shown());
    }
  }
}
