package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * One custom domain of a node ({@code blog.example.com} for {@code web.demo.funnel.example}) as the
 * registry knows it: the node's public name it must CNAME to ({@code target}), the token the owner
 * publishes at {@code _funnel-challenge.ALIAS} (TXT), its state with the reason of the last check,
 * when it was last checked (epoch millis, 0 never) and who asked for it ({@code node} flag or
 * {@code admin}). A state of {@link State#REFUSED} is never stored: the registry would not take it
 * (bad name, limit, another node's), and {@code reason} says why.
 */
public record AliasInfo(String alias, String tailnet, String node, String target, String token, State state,
                        String reason, long checkedAt, String origin) implements BusMessage {

  /** Where the owner publishes the token. */
  public static final String CHALLENGE_LABEL = "_funnel-challenge";

  /** An alias's state: never verified yet, verified (routed), failed a re-check (not routed), or not taken. */
  public enum State {
    PENDING, VERIFIED, FAILED, REFUSED;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    static State of(String label) {
      try {
        return label == null ? PENDING : State.valueOf(label.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        return PENDING;
      }
    }
  }

  /** The TXT name the owner publishes the token at: {@code _funnel-challenge.ALIAS}. */
  public String challengeName() {
    return CHALLENGE_LABEL + "." + alias;
  }

  public boolean verified() {
    return state == State.VERIFIED;
  }

  /** The two records to publish, as one line (zone-file spelling). */
  public String records() {
    return challengeName() + ". TXT \"" + token + "\" and " + alias + ". CNAME " + target + ".";
  }

  public AliasInfo with(State newState, String newReason, long newCheckedAt) {
    return new AliasInfo(alias, tailnet, node, target, token, newState, newReason, newCheckedAt, origin);
  }

  public static AliasInfo fromJson(JsonObject json) {
    return new AliasInfo(json.getString("alias"), json.getString("tailnet"), json.getString("node"),
        json.getString("target"), json.getString("token"), State.of(json.getString("state")),
        json.getString("reason"), json.getLong("checkedAt", 0L), json.getString("origin"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("alias", alias).put("tailnet", tailnet).put("node", node).put("target", target)
        .put("token", token).put("state", state.label()).put("reason", reason).put("checkedAt", checkedAt)
        .put("origin", origin);
  }
}
