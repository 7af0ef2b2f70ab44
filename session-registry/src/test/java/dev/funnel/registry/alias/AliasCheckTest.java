package dev.funnel.registry.alias;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.AliasInfo.State;
import dev.funnel.registry.alias.AliasCheck.Lookup;
import dev.funnel.registry.alias.AliasCheck.Outcome;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The pure decision of an alias check: what the resolver said → proven, disproven or inconclusive → next state. */
class AliasCheckTest {

  static final String ALIAS = "blog.example.com";
  static final String TOKEN = "funnel-0123456789abcdef0123456789abcdef01234567";
  static final String TARGET = "web.demo.funnel.example";

  static Stream<Arguments> lookups() {
    return Stream.of(
        Arguments.of("both records", true, new Lookup(List.of(TOKEN), List.of(TARGET + "."), null), "verified", "TXT and CNAME found"),
        Arguments.of("CNAME case and dot ignored", true, new Lookup(List.of(TOKEN), List.of("WEB.Demo.Funnel.Example"), null),
            "verified", ""),
        Arguments.of("token among other TXT", true, new Lookup(List.of("v=spf1 -all", TOKEN), List.of(TARGET), null),
            "verified", ""),
        Arguments.of("no TXT", true, new Lookup(List.of(), List.of(TARGET), null), "unproven",
            "no TXT \"" + TOKEN + "\" at _funnel-challenge." + ALIAS + " (no TXT there)"),
        Arguments.of("wrong TXT", true, new Lookup(List.of("funnel-other"), List.of(TARGET), null), "unproven",
            "(found 1 other)"),
        Arguments.of("token is case-sensitive", true, new Lookup(List.of(TOKEN.toUpperCase()), List.of(TARGET), null),
            "unproven", "no TXT"),
        Arguments.of("no CNAME", true, new Lookup(List.of(TOKEN), List.of(), null), "unproven",
            ALIAS + " has no CNAME to " + TARGET + " (no CNAME there)"),
        Arguments.of("CNAME elsewhere", true, new Lookup(List.of(TOKEN), List.of("evil.example."), null), "unproven",
            "(CNAME to evil.example)"),
        Arguments.of("CNAME to a name under the target", true, new Lookup(List.of(TOKEN), List.of("x." + TARGET), null),
            "unproven", "has no CNAME"),
        Arguments.of("neither", true, new Lookup(List.of(), List.of(), null), "unproven", "no TXT"),
        Arguments.of("lookup failed", true, Lookup.failed("TXT _funnel-challenge.blog.example.com.: SERVFAIL"),
            "inconclusive", "DNS lookup failed: TXT"),
        Arguments.of("Funnel off, records fine", false, new Lookup(List.of(TOKEN), List.of(TARGET), null), "unproven",
            "Funnel is off"),
        Arguments.of("Funnel off, lookup failed", false, Lookup.failed("timeout"), "unproven", "Funnel is off"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lookups")
  void judge(String what, boolean funnelOn, Lookup lookup, String expected, String reason) {
    Outcome outcome = AliasCheck.judge(ALIAS, TOKEN, TARGET, funnelOn, lookup);
    String got = outcome.verified() ? "verified" : outcome.inconclusive() ? "inconclusive" : "unproven";
    assertThat(got).isEqualTo(expected);
    assertThat(outcome.reason()).contains(reason);
  }

  static Stream<Arguments> transitions() {
    Outcome proven = new Outcome(true, false, "ok");
    Outcome disproven = new Outcome(false, false, "no TXT");
    Outcome unsure = new Outcome(false, true, "timeout");
    return Stream.of(
        Arguments.of(State.PENDING, proven, 0, State.VERIFIED),
        Arguments.of(State.FAILED, proven, 0, State.VERIFIED),
        Arguments.of(State.VERIFIED, proven, 0, State.VERIFIED),
        Arguments.of(State.PENDING, disproven, 0, State.PENDING),
        Arguments.of(State.VERIFIED, disproven, 0, State.FAILED),
        Arguments.of(State.FAILED, disproven, 0, State.FAILED),
        Arguments.of(State.VERIFIED, unsure, 1, State.VERIFIED),
        Arguments.of(State.VERIFIED, unsure, AliasCheck.MAX_INCONCLUSIVE - 1, State.VERIFIED),
        Arguments.of(State.VERIFIED, unsure, AliasCheck.MAX_INCONCLUSIVE, State.FAILED),
        Arguments.of(State.PENDING, unsure, 1, State.PENDING),
        Arguments.of(State.PENDING, unsure, AliasCheck.MAX_INCONCLUSIVE, State.PENDING));
  }

  @ParameterizedTest(name = "{0} + {1} ({2} inconclusive in a row) → {3}")
  @MethodSource("transitions")
  void next(State current, Outcome outcome, int inARow, State expected) {
    assertThat(AliasCheck.next(current, outcome, inARow).state()).isEqualTo(expected);
  }

  static Stream<Arguments> delays() {
    long interval = 300_000;
    return Stream.of(
        Arguments.of(State.VERIFIED, 0, interval, interval),
        Arguments.of(State.PENDING, 0, interval, 2_000L),
        Arguments.of(State.PENDING, 1, interval, 4_000L),
        Arguments.of(State.PENDING, 5, interval, 64_000L),
        Arguments.of(State.PENDING, 30, interval, interval),
        Arguments.of(State.FAILED, 2, interval, 8_000L),
        Arguments.of(State.PENDING, 0, 1_000L, 1_000L));
  }

  @ParameterizedTest(name = "{0} after {1} unproven checks, interval {2} → {3} ms")
  @MethodSource("delays")
  void delay(State state, int attempts, long interval, long expected) {
    assertThat(AliasCheck.delayMillis(state, attempts, interval)).isEqualTo(expected);
  }
}
