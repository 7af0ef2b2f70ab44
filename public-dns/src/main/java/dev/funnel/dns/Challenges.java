package dev.funnel.dns;

import dev.funnel.common.bus.DnsChallenge;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code _acme-challenge} TXT values a DNS process holds, changed by {@link DnsChallenge}
 * messages: a pure step from one immutable map (key {@code _acme-challenge.NODE.TAILNET.DOMAIN},
 * lower case, no trailing dot → values in the order set) to the next, or a refusal. Shared by the
 * server ({@link DnsVerticle}) and the RFC 2136 pusher, so both hold the same values by the same rules.
 */
public final class Challenges {

  private Challenges() {
  }

  /** What one message does: the next map, or why it was refused ({@code code} 400 malformed, 429 too many). */
  public sealed interface Result permits Held, Refused {
  }

  public record Held(Map<String, List<String>> challenges) implements Result {
    public Held {
      challenges = Map.copyOf(challenges);
    }
  }

  public record Refused(int code, String reason) implements Result {
  }

  /** A {@link DnsChallenge} from an event-bus body (the record in one JVM, its JSON across a cluster), or null. */
  public static DnsChallenge decode(Object body) {
    return body instanceof DnsChallenge c ? c : body instanceof JsonObject json ? DnsChallenge.fromJson(json) : null;
  }

  /**
   * {@code current} after {@code challenge}: a value added (present) or removed; a name left without
   * values is gone. At most {@code maxNames} names and {@link DnsOptions#MAX_CHALLENGE_VALUES} values
   * each; only names under {@code origin}.
   */
  public static Result apply(Map<String, List<String>> current, DnsChallenge challenge, String origin, int maxNames) {
    String refusal = refusal(challenge, origin);
    if (refusal != null) {
      return new Refused(400, refusal);
    }
    String key = "_acme-challenge." + Zone.name("challenge name", challenge.name());
    Map<String, List<String>> next = new HashMap<>(current);
    List<String> values = new ArrayList<>(next.getOrDefault(key, List.of()));
    if (challenge.present()) {
      if (!values.contains(challenge.value())) {
        if (values.size() >= DnsOptions.MAX_CHALLENGE_VALUES || (!next.containsKey(key) && next.size() >= maxNames)) {
          return new Refused(429, "too many challenge values");
        }
        values.add(challenge.value());
      }
    } else {
      values.remove(challenge.value());
    }
    if (values.isEmpty()) {
      next.remove(key);
    } else {
      next.put(key, List.copyOf(values));
    }
    return new Held(next);
  }

  /** Why a challenge cannot be held, or null. */
  static String refusal(DnsChallenge challenge, String origin) {
    if (challenge == null || challenge.name() == null || challenge.value() == null) {
      return "malformed challenge";
    }
    if (challenge.value().isEmpty() || challenge.value().length() > 255
        || challenge.value().chars().anyMatch(c -> c < 0x21 || c > 0x7E)) {
      return "a challenge value is 1-255 printable characters";
    }
    String name;
    try {
      name = Zone.name("challenge name", challenge.name());
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    if (!name.endsWith("." + origin)) {
      return "not a name under " + origin;
    }
    return null;
  }
}
