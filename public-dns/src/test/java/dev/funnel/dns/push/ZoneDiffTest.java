package dev.funnel.dns.push;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.dns.push.ZoneDiff.Change;
import dev.funnel.dns.push.ZoneDiff.Remove;
import dev.funnel.dns.push.ZoneDiff.Replace;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/** {@link ZoneDiff} as a table: desired and current RRsets in, changes out; and the update messages they make. */
class ZoneDiffTest {

  static final String Z = "funnel.test";
  static final RRset WEB_A = new RRset("web.demo." + Z, Type.A, 60, List.of("192.0.2.1", "192.0.2.2"));
  static final RRset WEB_A_ONE = new RRset("web.demo." + Z, Type.A, 60, List.of("192.0.2.1"));
  static final RRset WEB_A_TTL = new RRset("web.demo." + Z, Type.A, 300, List.of("192.0.2.1", "192.0.2.2"));
  static final RRset WEB_AAAA = new RRset("web.demo." + Z, Type.AAAA, 60, List.of("2001:db8:0:0:0:0:0:1"));
  static final RRset API_A = new RRset("api.demo." + Z, Type.A, 60, List.of("198.51.100.1"));
  static final RRset STALE_A = new RRset("stale.demo." + Z, Type.A, 60, List.of("192.0.2.9"));
  static final RRset TXT = new RRset("_acme-challenge.web.demo." + Z, Type.TXT, 60, List.of("\"t1\""));
  static final RRset CAA = new RRset(Z, Type.CAA, 3600, List.of("0 issue \"letsencrypt.org\""));

  static Stream<Arguments> table() {
    return Stream.of(
        row("both empty", List.of(), List.of()),
        row("in sync", List.of(WEB_A, CAA), List.of(WEB_A, CAA)),
        row("same records in another order", List.of(WEB_A),
            List.of(new RRset(WEB_A.name(), Type.A, 60, List.of("192.0.2.2", "192.0.2.1", "192.0.2.2")))),
        row("a fresh zone gets everything", List.of(WEB_A, WEB_AAAA, CAA), List.of(),
            new Replace(CAA), new Replace(WEB_A), new Replace(WEB_AAAA)),
        row("a name no longer routable goes", List.of(), List.of(WEB_A, WEB_AAAA),
            new Remove(WEB_A.key()), new Remove(WEB_AAAA.key())),
        row("a stale name among good ones", List.of(WEB_A, API_A), List.of(API_A, STALE_A, WEB_A),
            new Remove(STALE_A.key())),
        row("a record missing from the RRset", List.of(WEB_A), List.of(WEB_A_ONE), new Replace(WEB_A)),
        row("a record too many", List.of(WEB_A_ONE), List.of(WEB_A), new Replace(WEB_A_ONE)),
        row("only the TTL differs", List.of(WEB_A), List.of(WEB_A_TTL), new Replace(WEB_A)),
        row("a challenge appears and another name goes", List.of(TXT, WEB_A), List.of(WEB_A, STALE_A),
            new Replace(TXT), new Remove(STALE_A.key())),
        row("the region moved: v6 gone, v4 changed", List.of(new RRset(WEB_A.name(), Type.A, 60, List.of("198.51.100.1"))),
            List.of(WEB_A, WEB_AAAA),
            new Replace(new RRset(WEB_A.name(), Type.A, 60, List.of("198.51.100.1"))), new Remove(WEB_AAAA.key())));
  }

  static Arguments row(String what, List<RRset> desired, List<RRset> current, Change... changes) {
    return Arguments.of(what, map(desired), map(current), List.of(changes));
  }

  static Map<RRset.Key, RRset> map(List<RRset> sets) {
    Map<RRset.Key, RRset> out = new TreeMap<>();
    sets.forEach(s -> out.put(s.key(), s));
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void between(String what, Map<RRset.Key, RRset> desired, Map<RRset.Key, RRset> current, List<Change> expected) {
    List<Change> changes = ZoneDiff.between(desired, current);
    assertThat(changes).isEqualTo(expected);
    assertThat(ZoneDiff.applied(current, changes)).as("applying them gives the desired zone").isEqualTo(desired);
    assertThat(ZoneDiff.between(desired, ZoneDiff.applied(current, changes))).as("and then nothing to do").isEmpty();
  }

  @Test
  void batchesKeepTheOrderAndTheBound() {
    List<Change> changes = List.of(new Remove(API_A.key()), new Replace(CAA), new Replace(TXT), new Remove(STALE_A.key()),
        new Replace(WEB_A));
    assertThat(ZoneDiff.batches(changes, 2)).containsExactly(changes.subList(0, 2), changes.subList(2, 4),
        changes.subList(4, 5));
    assertThat(ZoneDiff.batches(changes, 100)).containsExactly(changes);
    assertThat(ZoneDiff.batches(List.of(), 2)).isEmpty();
    assertThatThrownBy(() -> ZoneDiff.batches(changes, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void largeRRsetsGoInSeveralUpdatesEachFarBelowTheMessageLimit() {
    List<Change> changes = new java.util.ArrayList<>();
    for (int i = 0; i < 40; i++) {
      List<String> values = new java.util.ArrayList<>();
      for (int v = 0; v < 8; v++) {
        values.add("\"" + String.valueOf((char) ('a' + v)).repeat(253) + "\"");
      }
      changes.add(new Replace(new RRset("_acme-challenge.n" + i + ".demo." + Z, Type.TXT, 60, values)));
    }
    List<List<Change>> batches = ZoneDiff.batches(changes, 100);
    assertThat(batches).hasSizeGreaterThan(1);
    assertThat(batches.stream().mapToInt(List::size).sum()).isEqualTo(40);
    for (List<Change> batch : batches) {
      assertThat(ZoneDiff.update(Z, batch).toWire().length).isLessThan(ZoneDiff.MAX_UPDATE_BYTES);
    }
    assertThat(ZoneDiff.update(Z, changes).toWire().length).as("all in one would not fit").isGreaterThan(65_535);
  }

  @Test
  void anUpdateDeletesEachRRsetThenAddsItsRecordsWithoutPrerequisites() {
    Update update = ZoneDiff.update(Z, List.of(new Replace(WEB_A), new Remove(STALE_A.key()), new Replace(TXT)));
    assertThat(update.getHeader().getOpcode()).isEqualTo(Opcode.UPDATE);
    assertThat(update.getSection(Section.ZONE)).singleElement().satisfies(z -> {
      assertThat(z.getName().toString()).isEqualTo(Z + ".");
      assertThat(z.getType()).isEqualTo(Type.SOA);
    });
    assertThat(update.getSection(Section.PREREQ)).isEmpty();
    assertThat(update.getSection(Section.UPDATE).stream().map(ZoneDiffTest::describe)).containsExactly(
        "ANY web.demo.funnel.test. A 0 ",
        "IN web.demo.funnel.test. A 60 192.0.2.1",
        "IN web.demo.funnel.test. A 60 192.0.2.2",
        "ANY stale.demo.funnel.test. A 0 ",
        "ANY _acme-challenge.web.demo.funnel.test. TXT 0 ",
        "IN _acme-challenge.web.demo.funnel.test. TXT 60 \"t1\"");
    assertThat(update.toWire()).as("encodes").isNotEmpty();
  }

  @Test
  void updatesGoesFromTwoZonesToMessagesInOneCall() {
    List<Update> updates = ZoneDiff.updates(Z + ".", map(List.of(WEB_A, CAA, TXT)), map(List.of(STALE_A)), 2);
    assertThat(updates).hasSize(2);
    // In name order: the TXT and the CAA (a delete and an add each), then stale's delete and web's delete and two adds.
    assertThat(updates.get(0).getSection(Section.UPDATE)).hasSize(2 + 2);
    assertThat(updates.get(1).getSection(Section.UPDATE)).hasSize(1 + 3);
  }

  private static String describe(Record r) {
    return DClass.string(r.getDClass()) + " " + r.getName() + " " + Type.string(r.getType()) + " " + r.getTTL() + " "
        + r.rdataToString();
  }
}
