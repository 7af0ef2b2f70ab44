package dev.funnel.terminator.auth;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Who passed the login gate, as the backend is told ({@code Funnel-User-Email}, {@code Funnel-User-Name}).
 *
 * @param method        {@code oidc}, {@code basic} or {@code bearer}
 * @param email         lower case; {@code null} when the method gives none
 * @param emailVerified false only when the provider said {@code email_verified: false}
 * @param name          a display name, the basic user name or the token's name
 * @param groups        the ID token's {@code groups} claim (at most {@link #MAX_GROUPS})
 */
public record LoginUser(String method, String email, boolean emailVerified, String name, List<String> groups) {

  /** Groups kept in the sealed cookie; more would push it past what browsers keep. */
  public static final int MAX_GROUPS = 32;
  static final int MAX_CLAIM_CHARS = 256;

  public LoginUser {
    groups = List.copyOf(groups);
  }

  /** The user an ID token's claims describe; empty fields when the claims are missing or not strings. */
  public static LoginUser fromIdToken(JsonObject idToken) {
    String email = string(idToken, "email");
    boolean verified = !Boolean.FALSE.equals(idToken.getValue("email_verified"));
    String name = string(idToken, "name");
    if (name == null) {
      name = string(idToken, "preferred_username");
    }
    if (name == null) {
      name = email != null ? email : string(idToken, "sub");
    }
    List<String> groups = new ArrayList<>();
    Object g = idToken.getValue("groups");
    if (g instanceof JsonArray array) {
      for (Object o : array) {
        if (o instanceof String s && !s.isEmpty() && s.length() <= MAX_CLAIM_CHARS && groups.size() < MAX_GROUPS) {
          groups.add(s);
        }
      }
    }
    return new LoginUser("oidc", email == null ? null : email.toLowerCase(Locale.ROOT), verified, name, groups);
  }

  /** The claims kept in the session cookie. */
  JsonObject toClaims() {
    JsonObject json = new JsonObject().put("m", method).put("v", emailVerified).put("n", name)
        .put("g", new JsonArray(groups));
    if (email != null) {
      json.put("e", email);
    }
    return json;
  }

  /** The inverse of {@link #toClaims()}; {@code null} when the claims are not a login. */
  static LoginUser fromClaims(JsonObject claims) {
    try {
      JsonArray g = claims.getJsonArray("g", new JsonArray());
      List<String> groups = new ArrayList<>();
      g.forEach(o -> groups.add(String.valueOf(o)));
      String method = claims.getString("m");
      if (method == null) {
        return null;
      }
      return new LoginUser(method, claims.getString("e"), claims.getBoolean("v", false), claims.getString("n"), groups);
    } catch (ClassCastException e) {
      return null;
    }
  }

  private static String string(JsonObject json, String key) {
    Object v = json.getValue(key);
    return v instanceof String s && !s.isBlank() && s.length() <= MAX_CLAIM_CHARS ? s : null;
  }
}
