package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * What the server side saw of one probe of a node's public path ({@link ProbeRequest}), carried
 * frontend → gateway on the event bus and gateway → node in a {@code ProbeReply} control message.
 *
 * @param outcome     what happened at the far end of the path ({@link Outcome})
 * @param code        the refusal's code when there is one (a {@link ResolveFailure} name, or the TLS alert)
 * @param detail      one line for people
 * @param millis      connect → handshake done (or failed), as the frontend measured it; -1 when it never dialled
 * @param fingerprint SHA-256 (hex, lower case) of the leaf certificate the handshake returned; null if none
 * @param source      the probe connection's local address (HOST:PORT): the node finds its own tunnel by it
 *                    (the offer's {@code funnel-ingress-src}); null when it never connected
 * @param frontendId  the frontend that dialled; null when none answered
 * @param dnsListen   where Funnel's DNS listens (HOST:PORT); null when Funnel runs no DNS here
 * @param dnsAnswers  the addresses Funnel's DNS answers for the name (empty: none, or no DNS)
 */
public record ProbeResult(Outcome outcome, String code, String detail, long millis, String fingerprint, String source,
                          String frontendId, String dnsListen, List<String> dnsAnswers) implements BusMessage {

  /** How a probe ended on the server side. */
  public enum Outcome {
    /** The TLS handshake through the public listener completed. */
    HANDSHAKE_DONE,
    /** The registry refuses the name or port ({@code code}: FUNNEL_OFF, PORT_NOT_ALLOWED, NO_ROUTE). */
    REGISTRY_REFUSED,
    /** No registry answered. */
    NO_REGISTRY,
    /** No frontend answered the probe request (none running, or it timed out). */
    NO_FRONTEND,
    /** The frontend has no listener for the port, or could not connect to it. */
    FRONTEND_DIAL_FAILED,
    /** Connected, but the handshake failed (an alert from the frontend, or the tunnel closed). */
    HANDSHAKE_FAILED,
    /** The probe did not finish within its timeout. */
    TIMEOUT,
    /** Too many probes: the gateway's per-node limit or the frontend's concurrency cap. */
    RATE_LIMITED
  }

  public ProbeResult {
    dnsAnswers = dnsAnswers == null ? List.of() : List.copyOf(dnsAnswers);
  }

  public static ProbeResult of(Outcome outcome, String code, String detail) {
    return new ProbeResult(outcome, code, detail, -1, null, null, null, null, List.of());
  }

  public ProbeResult withDns(String listen, List<String> answers) {
    return new ProbeResult(outcome, code, detail, millis, fingerprint, source, frontendId, listen, answers);
  }

  public static ProbeResult fromJson(JsonObject json) {
    Outcome outcome;
    try {
      outcome = Outcome.valueOf(json.getString("outcome", ""));
    } catch (IllegalArgumentException e) {
      outcome = Outcome.NO_FRONTEND;
    }
    List<String> answers = new ArrayList<>();
    JsonArray array = json.getJsonArray("dnsAnswers");
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        answers.add(String.valueOf(array.getValue(i)));
      }
    }
    return new ProbeResult(outcome, json.getString("code"), json.getString("detail", ""), json.getLong("millis", -1L),
        json.getString("fingerprint"), json.getString("source"), json.getString("frontendId"),
        json.getString("dnsListen"), answers);
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("outcome", outcome.name()).put("code", code).put("detail", detail)
        .put("millis", millis).put("fingerprint", fingerprint).put("source", source).put("frontendId", frontendId)
        .put("dnsListen", dnsListen).put("dnsAnswers", new JsonArray(dnsAnswers));
  }
}
