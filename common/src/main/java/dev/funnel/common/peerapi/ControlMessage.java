package dev.funnel.common.peerapi;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import dev.funnel.common.bus.PortRefusals;
import dev.funnel.common.bus.ProbeResult;

/**
 * Messages of the node ⇄ gateway control channel, each one {@link ControlFrames frame}.
 *
 * <pre>
 * control connection:  gateway → Challenge;  node → Hello;  gateway → Welcome | Refused;
 *                      then Ping/Pong both ways, ServeUpdate,
 *                      SignRequest, AcmeTxt, SessionLost, Probe and CertificateExpiry (node → gateway), SignReply, AcmeTxtReply, ProbeReply and
 *                      Bye (gateway → node).
 * link connection:     gateway → Challenge; node → DataHello; then HTTP/2 (the node is the server,
 *                      the gateway opens one stream per tunnel: {@link IngressOffer}).
 * </pre>
 */
public sealed interface ControlMessage {

  /**
   * Protocol version a node speaks in {@link Hello}. 2: tunnels are HTTP/2 streams over a few link
   * connections per session (1 was one pooled connection per tunnel); a gateway refuses any other
   * version with {@code Refused(PROTOCOL)} saying which to upgrade to.
   */
  int VERSION = 2;

  JsonObject toJson();

  default Buffer encode() {
    return ControlFrames.encode(toJson());
  }

  /** A frame that is JSON but not a message we know, or misses a field. */
  final class InvalidMessage extends RuntimeException {
    public InvalidMessage(String reason) {
      super(reason, null, false, false);
    }
  }

  /** Gateway's first frame: a nonce the node signs with its node key, so a login cannot be replayed. */
  record Challenge(String nonce) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "challenge").put("nonce", nonce);
    }
  }

  /** Node's login. {@code nodePublicKey}/{@code proof} are base64 (X.509 SubjectPublicKeyInfo / signature over the nonce). */
  /**
   * {@code aliases}: the custom domains the node asks for ({@code --domain-alias}); a node that sends
   * the field (even empty) understands {@link Aliases}. Null from an older node: the gateway then
   * never sends it {@link Aliases}, and the registry leaves its aliases as they are.
   */
  record Hello(int version, String authKey, String hostname, List<Integer> ports, String nodePublicKey,
               String proof, List<String> aliases) implements ControlMessage {
    public Hello {
      ports = List.copyOf(ports);
      aliases = aliases == null ? null : List.copyOf(aliases);
    }

    /** A Hello of a node that knows no custom domains. */
    public Hello(int version, String authKey, String hostname, List<Integer> ports, String nodePublicKey,
                 String proof) {
      this(version, authKey, hostname, ports, nodePublicKey, proof, null);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("type", "hello").put("version", version).put("authKey", authKey)
          .put("hostname", hostname).put("ports", new JsonArray(ports))
          .put("nodePublicKey", nodePublicKey).put("proof", proof);
      return aliases == null ? json : json.put("aliases", new JsonArray(aliases));
    }

    @Override
    public String toString() {
      return "Hello[hostname=" + hostname + ", ports=" + ports + (aliases == null ? "" : ", aliases=" + aliases) + "]";
    }
  }

  /**
   * Gateway → node: every custom domain of the node with its state (after login and on each
   * change). Sent only to a node whose {@link Hello} carried {@code aliases}.
   */
  record Aliases(List<dev.funnel.common.bus.AliasInfo> aliases) implements ControlMessage {
    public Aliases {
      aliases = List.copyOf(aliases);
    }

    public JsonObject toJson() {
      return new JsonObject().put("type", "aliases")
          .put("aliases", dev.funnel.common.bus.AliasStatus.listToJson(aliases));
    }
  }

  /**
   * Session admitted. Link connections present {@code sessionId} and {@code dataSecret};
   * {@code links} is how many the gateway asks for (the node may keep fewer or more, within its cap).
   * {@code gatewayId} and {@code epoch} name the session as the registry knows it, so the node can
   * report it lost through another gateway ({@link SessionLost}); a gateway that does not send
   * them leaves them null and 0, and such a session is never reported.
   */
  record Welcome(String sessionId, String nodeId, String fqdn, String dataSecret, long heartbeatMillis,
                 int links, List<Integer> ports, String gatewayId, long epoch, Map<Integer, String> refused,
                 List<String> features)
      implements ControlMessage {
    public Welcome {
      ports = List.copyOf(ports);
      refused = refused == null ? Map.of() : Map.copyOf(refused);
      features = features == null ? List.of() : List.copyOf(features);
    }

    /** A Welcome that refuses no port and offers no optional {@code features}. */
    public Welcome(String sessionId, String nodeId, String fqdn, String dataSecret, long heartbeatMillis,
                   int links, List<Integer> ports, String gatewayId, long epoch) {
      this(sessionId, nodeId, fqdn, dataSecret, heartbeatMillis, links, ports, gatewayId, epoch, Map.of(), List.of());
    }

    /** A Welcome that offers no optional {@code features}. */
    public Welcome(String sessionId, String nodeId, String fqdn, String dataSecret, long heartbeatMillis,
                   int links, List<Integer> ports, String gatewayId, long epoch, Map<Integer, String> refused) {
      this(sessionId, nodeId, fqdn, dataSecret, heartbeatMillis, links, ports, gatewayId, epoch, refused, List.of());
    }

    /** A Welcome that refuses no port. */
    public Welcome(String sessionId, String nodeId, String fqdn, String dataSecret, long heartbeatMillis,
                   int links, List<Integer> ports, String gatewayId, long epoch, List<String> features) {
      this(sessionId, nodeId, fqdn, dataSecret, heartbeatMillis, links, ports, gatewayId, epoch, Map.of(), features);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("type", "welcome").put("sessionId", sessionId).put("nodeId", nodeId)
          .put("fqdn", fqdn).put("dataSecret", dataSecret).put("heartbeatMillis", heartbeatMillis)
          .put("links", links).put("ports", new JsonArray(ports)).put("gatewayId", gatewayId)
          .put("epoch", epoch).put("refused", PortRefusals.toJson(refused));
      return features.isEmpty() ? json : json.put("features", new JsonArray(features));
    }

    /** True when the gateway understands {@code feature} (e.g. {@link #FEATURE_ACME_TXT}). */
    public boolean offers(String feature) {
      return features.contains(feature);
    }

    /** True when the gateway named the session (gateway id and epoch), so it can be reported lost. */
    public boolean reportable() {
      return gatewayId != null && !gatewayId.isEmpty() && epoch > 0;
    }

    @Override
    public String toString() {
      return "Welcome[sessionId=" + sessionId + ", fqdn=" + fqdn + ", ports=" + ports + ", gatewayId=" + gatewayId
          + ", epoch=" + epoch + (refused.isEmpty() ? "" : ", refused=" + refused) + "]";
    }
  }

  /** Login refused; {@code code} is a {@code LoginFailure} name (or PROTOCOL), and the gateway closes. */
  record Refused(String code, String message) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "refused").put("code", code).put("message", message);
    }
  }

  record Ping(long seq) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "ping").put("seq", seq);
    }
  }

  record Pong(long seq) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "pong").put("seq", seq);
    }
  }

  /** First frame of a link connection (after the gateway's Challenge); then the connection speaks HTTP/2. */
  record DataHello(String sessionId, String dataSecret) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "data-hello").put("sessionId", sessionId).put("dataSecret", dataSecret);
    }

    @Override
    public String toString() {
      return "DataHello[sessionId=" + sessionId + "]";
    }
  }

  /** Node now funnels exactly these ports (run-time serve change); gateway answers with a Welcome. */
  record ServeUpdate(List<Integer> ports) implements ControlMessage {
    public ServeUpdate {
      ports = List.copyOf(ports);
    }

    public JsonObject toJson() {
      return new JsonObject().put("type", "serve-update").put("ports", new JsonArray(ports));
    }
  }


  /** Node asks the server's CA to sign a PKCS#10 CSR (PEM) for its own name. */
  record SignRequest(String csrPem) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "sign-request").put("csrPem", csrPem);
    }
  }

  /** {@link Welcome#features} value: the gateway takes {@link AcmeTxt} (older gateways would close the session on it). */
  String FEATURE_ACME_TXT = "acme-txt";

  /**
   * Node → gateway: set ({@code present}) or remove the ACME dns-01 value {@code TXT value} at
   * {@code _acme-challenge.name}, for the node's own name only (the registry checks). Sent only to
   * a gateway whose Welcome offers {@link #FEATURE_ACME_TXT}. Answered by {@link AcmeTxtReply} with
   * the same {@code id}.
   */
  record AcmeTxt(long id, String name, String value, boolean present) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "acme-txt").put("id", id).put("name", name).put("value", value)
          .put("present", present);
    }
  }

  /** The answer to {@link AcmeTxt} {@code id}: done ({@code error} null), or why not. */
  record AcmeTxtReply(long id, String error) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "acme-txt-reply").put("id", id).put("error", error);
    }
  }

  /** {@link Welcome#features} value: the gateway takes {@link CertificateExpiry} (older gateways would close the session on it). */
  String FEATURE_CERTIFICATE_EXPIRY = "certificate-expiry";

  /**
   * Node → gateway: the certificate the node's TLS terminator presents expires at {@code notAfter}
   * (epoch seconds). Sent once the session is welcomed and again whenever the certificate changes,
   * only to a gateway whose Welcome offers {@link #FEATURE_CERTIFICATE_EXPIRY}. The gateway counts its
   * sessions by how soon that is ({@code funnel_gateway_node_certificates}), so operators see the
   * fleet's certificates without scraping nodes, and tells the registries (the console and
   * {@code GET /v1/nodes} show the days left). No answer.
   */
  record CertificateExpiry(long notAfter) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "certificate-expiry").put("notAfter", notAfter);
    }
  }

  /** The signed chain (PEM), or an error saying why not. */
  record SignReply(String certChainPem, String error) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "sign-reply").put("certChainPem", certChainPem).put("error", error);
    }
  }

  /**
   * Node → gateway: this node's session with another gateway ({@code gatewayId}, {@code epoch}, as
   * that gateway's {@link Welcome} named it) ended without that gateway saying {@link Bye}
   * (connection closed or reset, heartbeats missed). The gateway passes it to the registry, vouching
   * for the node's identity, so the route through the lost gateway is withdrawn at once instead of
   * when the cluster notices the gateway is gone. No answer.
   */
  record SessionLost(String gatewayId, long epoch, String reason) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "session-lost").put("gatewayId", gatewayId).put("epoch", epoch)
          .put("reason", reason);
    }
  }

  /**
   * Node → gateway: probe my public path on {@code port} ({@code funnel status}). The gateway fills
   * in the node's name from the session (never from this message), asks a frontend to dial it
   * through its public listener, and answers {@link ProbeReply} with the same {@code id}.
   * {@code fingerprint}: SHA-256 (hex) of the certificate the node expects to come back, or null.
   */
  record Probe(long id, int port, String fingerprint) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "probe").put("id", id).put("port", port).put("fingerprint", fingerprint);
    }
  }

  /** Gateway → node: what the server side saw of probe {@code id}. */
  record ProbeReply(long id, ProbeResult result) implements ControlMessage {
    public JsonObject toJson() {
      return new JsonObject().put("type", "probe-reply").put("id", id).put("result", result.toJson());
    }
  }

  /**
   * Gateway ends the session (node removed, key revoked, gateway stopping). {@code drainMillis} > 0
   * (a gateway draining on its stop): the tunnels running on the session's link connections may go
   * on for that long, so the node leaves those connections open (the gateway closes each when its
   * last tunnel ends) while it logs in elsewhere; 0 (absent on the wire): they close with the session.
   * A node that does not know the field closes them, as before it existed.
   */
  record Bye(String reason, long drainMillis) implements ControlMessage {
    public Bye(String reason) {
      this(reason, 0);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("type", "bye").put("reason", reason);
      return drainMillis > 0 ? json.put("drainMillis", drainMillis) : json;
    }
  }

  /** Parses a frame's JSON into a message; throws {@link InvalidMessage} naming what is wrong. */
  static ControlMessage fromJson(JsonObject json) {
    try {
      String type = json.getString("type");
      if (type == null) {
        throw new InvalidMessage("message without type");
      }
      return switch (type) {
        case "challenge" -> new Challenge(required(json, "nonce"));
        case "hello" -> new Hello(json.getInteger("version", 0), json.getString("authKey"),
            required(json, "hostname"), ints(json.getJsonArray("ports")), json.getString("nodePublicKey"),
            json.getString("proof"), json.getJsonArray("aliases") == null ? null
                : strings(json.getJsonArray("aliases")));
        case "aliases" -> new Aliases(dev.funnel.common.bus.AliasStatus.listFromJson(json.getJsonArray("aliases")));
        case "welcome" -> new Welcome(required(json, "sessionId"), required(json, "nodeId"), required(json, "fqdn"),
            required(json, "dataSecret"), json.getLong("heartbeatMillis", 5000L), json.getInteger("links", 2),
            ints(json.getJsonArray("ports")), json.getString("gatewayId"), json.getLong("epoch", 0L),
            PortRefusals.fromJson(json.getJsonObject("refused")), strings(json.getJsonArray("features")));
        case "refused" -> new Refused(required(json, "code"), json.getString("message", ""));
        case "ping" -> new Ping(json.getLong("seq", 0L));
        case "pong" -> new Pong(json.getLong("seq", 0L));
        case "data-hello" -> new DataHello(required(json, "sessionId"), required(json, "dataSecret"));
        case "serve-update" -> new ServeUpdate(ints(json.getJsonArray("ports")));
        case "sign-request" -> new SignRequest(required(json, "csrPem"));
        case "sign-reply" -> new SignReply(json.getString("certChainPem"), json.getString("error"));
        case "acme-txt" -> new AcmeTxt(requiredLong(json, "id"), required(json, "name"), required(json, "value"),
            json.getBoolean("present", false));
        case "acme-txt-reply" -> new AcmeTxtReply(requiredLong(json, "id"), json.getString("error"));
        case "session-lost" -> new SessionLost(required(json, "gatewayId"), requiredLong(json, "epoch"),
            json.getString("reason", ""));
        case "probe" -> new Probe(requiredLong(json, "id"), json.getInteger("port", 0), json.getString("fingerprint"));
        case "probe-reply" -> new ProbeReply(requiredLong(json, "id"),
            ProbeResult.fromJson(json.getJsonObject("result", new JsonObject())));
        case "certificate-expiry" -> new CertificateExpiry(requiredLong(json, "notAfter"));
        case "bye" -> new Bye(json.getString("reason", ""), Math.max(0, json.getLong("drainMillis", 0L)));
        default -> throw new InvalidMessage("unknown message type " + type);
      };
    } catch (ClassCastException e) {
      throw new InvalidMessage("field of the wrong type");
    }
  }

  private static String required(JsonObject json, String field) {
    String value = json.getString(field);
    if (value == null) {
      throw new InvalidMessage("missing field " + field);
    }
    return value;
  }

  private static long requiredLong(JsonObject json, String field) {
    Long value = json.getLong(field);
    if (value == null) {
      throw new InvalidMessage("missing field " + field);
    }
    return value;
  }

  private static List<String> strings(JsonArray array) {
    List<String> out = new ArrayList<>();
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        String value = array.getString(i);
        if (value != null) {
          out.add(value);
        }
      }
    }
    return out;
  }

  private static List<Integer> ints(JsonArray array) {
    List<Integer> out = new ArrayList<>();
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        Integer value = array.getInteger(i);
        if (value == null) {
          throw new InvalidMessage("null in a port list");
        }
        out.add(value);
      }
    }
    return out;
  }
}
