package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage.InvalidMessage;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Pong;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import dev.funnel.common.peerapi.ControlMessage.SignRequest;
import dev.funnel.common.peerapi.ControlMessage.Welcome;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ControlMessageTest {

  static Stream<ControlMessage> everyType() {
    return Stream.of(
        new Challenge("nonce-123"),
        new Hello(ControlMessage.VERSION, "tskey-secret", "web", List.of(443, 8443), "cHVi", "cHJvb2Y="),
        new Hello(ControlMessage.VERSION, null, "web", List.of(443), "cHVi", "cHJvb2Y=", List.of("blog.example.com")),
        new Hello(ControlMessage.VERSION, null, "web", List.of(443), "cHVi", "cHJvb2Y=", List.of()),
        new ControlMessage.Aliases(List.of(new dev.funnel.common.bus.AliasInfo("blog.example.com", "demo", "web",
            "web.demo.funnel.example", "funnel-00ff", dev.funnel.common.bus.AliasInfo.State.PENDING, "no TXT", 0, "node"),
            new dev.funnel.common.bus.AliasInfo("x.example", "demo", "web", "web.demo.funnel.example", null,
                dev.funnel.common.bus.AliasInfo.State.REFUSED, "belongs to another node", 0, "node"))),
        new ControlMessage.Aliases(List.of()),
        new Welcome("s-1", "n-1", "web.demo.funnel.example", "data-secret", 5_000, 4, List.of(443), "gw-1", 17),
        new Welcome("s-2", "n-1", "web.demo.funnel.example", "data-secret", 5_000, 4, List.of(), null, 0),
        new Welcome("s-3", "n-1", "web.demo.funnel.example", "data-secret", 5_000, 2, List.of(443, 8443), "gw-1", 18,
            java.util.Map.of(8443, "refused by the tailnet's policy: tailnet demo does not allow port 8443 (allowed: 443)")),
        new ControlMessage.Probe(7, 443, "ab12"),
        new ControlMessage.Probe(8, 8443, null),
        new ControlMessage.ProbeReply(7, new dev.funnel.common.bus.ProbeResult(
            dev.funnel.common.bus.ProbeResult.Outcome.HANDSHAKE_DONE, null, "done", 3, "ab12", "127.0.0.1:50000",
            "fe-1", "127.0.0.1:5353", List.of("127.0.0.1"))),
        new ControlMessage.ProbeReply(8, dev.funnel.common.bus.ProbeResult.of(
            dev.funnel.common.bus.ProbeResult.Outcome.REGISTRY_REFUSED, "FUNNEL_OFF", "funnel is off for tailnet demo")),
        new Welcome("s-3", "n-1", "web.demo.funnel.example", "data-secret", 5_000, 4, List.of(443), "gw-1", 18,
            List.of(ControlMessage.FEATURE_ACME_TXT)),
        new ControlMessage.AcmeTxt(7, "web.demo.funnel.example", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", true),
        new ControlMessage.AcmeTxt(8, "web.demo.funnel.example", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", false),
        new ControlMessage.AcmeTxtReply(7, null),
        new ControlMessage.AcmeTxtReply(8, "a node may set _acme-challenge only for its own name"),
        new ControlMessage.CertificateExpiry(1_796_000_000L),
        new Refused("BAD_KEY", "unknown auth key"),
        new Ping(1),
        new Pong(Long.MAX_VALUE),
        new DataHello("s-1", "data-secret"),
        new ServeUpdate(List.of(10000)),
        new SignRequest("-----BEGIN CERTIFICATE REQUEST-----\n...\n"),
        new SignReply("-----BEGIN CERTIFICATE-----\n...\n", null),
        new SignReply(null, "not your name"),
        new SessionLost("gw-2", 1_795_264_603_190_000L, "connection lost: Connection reset"),
        new Bye("gateway stopping"),
        new Bye("gateway stopping", 10_000));
  }

  @Test
  void aByeWithoutADrainIsTheOneEveryNodeKnows() {
    assertThat(new Bye("lease lost").toJson().fieldNames()).containsExactlyInAnyOrder("type", "reason");
    assertThat(ControlMessage.fromJson(new JsonObject("{\"type\":\"bye\",\"reason\":\"x\"}")))
        .isEqualTo(new Bye("x", 0));
    assertThat(ControlMessage.fromJson(new JsonObject(
        "{\"type\":\"bye\",\"reason\":\"x\",\"drainMillis\":-5}"))).as("a negative drain is none").isEqualTo(new Bye("x", 0));
  }

  @ParameterizedTest
  @MethodSource("everyType")
  void roundTripsThroughJson(ControlMessage message) {
    assertThat(ControlMessage.fromJson(message.toJson())).isEqualTo(message);
  }

  @ParameterizedTest
  @MethodSource("everyType")
  void roundTripsThroughAFrame(ControlMessage message) {
    FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
    assertThat(reader.feed(message.encode())).containsExactly(message);
    assertThat(reader.remainder().length()).isZero();
  }

  @Test
  void everyTypeIsCovered() {
    List<Class<?>> covered = new ArrayList<>();
    everyType().forEach(m -> covered.add(m.getClass()));
    assertThat(covered).containsAll(List.of(ControlMessage.class.getPermittedSubclasses()));
  }

  @Test
  void oldAndNewPeersInteroperate() {
    // An old gateway's Welcome has no features: a new node sees none offered (and sends no AcmeTxt).
    Welcome old = (Welcome) ControlMessage.fromJson(new Welcome("s", "n", "web.x", "d", 1, 1, List.of(), "gw", 1)
        .toJson());
    assertThat(old.features()).isEmpty();
    assertThat(old.offers(ControlMessage.FEATURE_ACME_TXT)).isFalse();
    assertThat(old.toJson().containsKey("features")).as("a Welcome without features writes none").isFalse();
    // A new gateway's Welcome read the way an old node reads it: known fields only, the rest ignored.
    io.vertx.core.json.JsonObject json = new Welcome("s", "n", "web.x", "d", 1, 1, List.of(443), "gw", 1,
        List.of(ControlMessage.FEATURE_ACME_TXT)).toJson();
    assertThat(json.getJsonArray("features").getList()).containsExactly("acme-txt");
    assertThat(((Welcome) ControlMessage.fromJson(json)).ports()).containsExactly(443);
  }

  @Test
  void aliasesInTheHelloAreOptional() {
    // An old node's Hello has no aliases field: null (the registry leaves its aliases alone, the gateway sends no Aliases).
    Hello old = (Hello) ControlMessage.fromJson(new Hello(ControlMessage.VERSION, null, "web", List.of(443), "p", "q")
        .toJson());
    assertThat(old.aliases()).isNull();
    assertThat(old.toJson().containsKey("aliases")).isFalse();
    // A new node's Hello, read by an old gateway: known fields only.
    io.vertx.core.json.JsonObject json = new Hello(ControlMessage.VERSION, null, "web", List.of(443), "p", "q",
        List.of("blog.example.com")).toJson();
    assertThat(json.getJsonArray("aliases").getList()).containsExactly("blog.example.com");
    assertThat(((Hello) ControlMessage.fromJson(json)).hostname()).isEqualTo("web");
  }

  @Test
  void secretsStayOutOfToString() {
    assertThat(new Hello(1, "tskey-secret", "web", List.of(443), "pub", "proof").toString())
        .doesNotContain("tskey-secret").doesNotContain("proof").contains("web");
    assertThat(new Welcome("s", "n", "web.x", "data-secret", 1, 1, List.of(), "gw", 1).toString())
        .doesNotContain("data-secret");
    assertThat(new DataHello("s", "data-secret").toString()).doesNotContain("data-secret");
  }

  @Test
  void defaultsForOptionalFields() {
    Welcome welcome = (Welcome) ControlMessage.fromJson(new JsonObject().put("type", "welcome").put("sessionId", "s")
        .put("nodeId", "n").put("fqdn", "f").put("dataSecret", "d"));
    assertThat(welcome.heartbeatMillis()).isEqualTo(5_000);
    assertThat(welcome.links()).isEqualTo(2);
    assertThat(welcome.ports()).isEmpty();
    // A gateway that does not name the session: the node has nothing to report if it is lost.
    assertThat(welcome.gatewayId()).isNull();
    assertThat(welcome.epoch()).isZero();
    assertThat(welcome.reportable()).isFalse();
    assertThat(ControlMessage.fromJson(new JsonObject().put("type", "session-lost").put("gatewayId", "gw")
        .put("epoch", 3))).isEqualTo(new SessionLost("gw", 3, ""));
    assertThat(ControlMessage.fromJson(new JsonObject().put("type", "refused").put("code", "X")))
        .isEqualTo(new Refused("X", ""));
  }

  @Test
  void listsAreImmutableCopies() {
    List<Integer> ports = new ArrayList<>(List.of(443));
    ServeUpdate update = new ServeUpdate(ports);
    ports.add(8443);
    assertThat(update.ports()).containsExactly(443);
    assertThatThrownBy(() -> update.ports().add(1)).isInstanceOf(UnsupportedOperationException.class);
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of(new JsonObject(), "message without type"),
        Arguments.of(new JsonObject().put("type", "teleport"), "unknown message type teleport"),
        Arguments.of(new JsonObject().put("type", "challenge"), "missing field nonce"),
        Arguments.of(new JsonObject().put("type", "hello").put("ports", List.of(443)), "missing field hostname"),
        Arguments.of(new JsonObject().put("type", "welcome").put("sessionId", "s").put("nodeId", "n")
            .put("fqdn", "f"), "missing field dataSecret"),
        Arguments.of(new JsonObject().put("type", "refused"), "missing field code"),
        Arguments.of(new JsonObject().put("type", "data-hello").put("sessionId", "s"), "missing field dataSecret"),
        Arguments.of(new JsonObject().put("type", "sign-request"), "missing field csrPem"),
        Arguments.of(new JsonObject().put("type", "ping").put("seq", "seven"), "wrong type"),
        Arguments.of(new JsonObject().put("type", "ping").put("seq", List.of(1)), "wrong type"),
        Arguments.of(new JsonObject().put("type", "serve-update").put("ports", "443"), "wrong type"),
        Arguments.of(new JsonObject().put("type", "serve-update").put("ports", List.of("https")), "wrong type"),
        Arguments.of(new JsonObject().put("type", "serve-update").put("ports", java.util.Arrays.asList(443, null)),
            "null"),
        Arguments.of(new JsonObject().put("type", "welcome").put("sessionId", "s").put("nodeId", "n").put("fqdn", "f")
            .put("dataSecret", "d").put("heartbeatMillis", "soon"), "wrong type"),
        Arguments.of(new JsonObject().put("type", "welcome").put("sessionId", "s").put("nodeId", "n").put("fqdn", "f")
            .put("dataSecret", "d").put("epoch", "new"), "wrong type"),
        Arguments.of(new JsonObject().put("type", "session-lost").put("epoch", 3), "missing field gatewayId"),
        Arguments.of(new JsonObject().put("type", "session-lost").put("gatewayId", "gw"), "missing field epoch"),
        Arguments.of(new JsonObject().put("type", "session-lost").put("gatewayId", "gw").put("epoch", "3"),
            "wrong type"));
  }

  @ParameterizedTest
  @MethodSource("invalid")
  void invalidMessagesNameWhatIsWrong(JsonObject json, String reason) {
    assertThatThrownBy(() -> ControlMessage.fromJson(json))
        .isInstanceOf(InvalidMessage.class)
        .hasMessageContaining(reason);
  }
}
