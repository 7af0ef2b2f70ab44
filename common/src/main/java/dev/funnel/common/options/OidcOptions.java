package dev.funnel.common.options;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The node's OpenID Connect provider, shared by every route whose {@link AuthOptions} has {@code oidc}
 * ({@code --oidc-issuer URL --oidc-client-id ID --oidc-secret-file FILE}). Immutable.
 *
 * @param issuer     the issuer URL, without a trailing slash ({@code /.well-known/openid-configuration} is
 *                   fetched under it)
 * @param clientId   the client id registered at the provider
 * @param secretFile file holding the client secret (first line); {@code null} for a public client
 * @param scopes     scopes asked for; {@code openid} is always among them
 * @param sessionTtl how long a login lasts (the sealed cookie's expiry)
 */
public record OidcOptions(String issuer, String clientId, String secretFile, List<String> scopes, Duration sessionTtl) {

  public static final List<String> DEFAULT_SCOPES = List.of("openid", "email", "profile");
  public static final Duration DEFAULT_SESSION_TTL = Duration.ofHours(12);

  public OidcOptions {
    scopes = List.copyOf(scopes);
  }

  /**
   * Checks and normalises the flags' values. Throws IllegalArgumentException naming the flag.
   *
   * @param secretFile may be {@code null} (a public client; PKCE still protects the code)
   */
  public static OidcOptions of(String issuer, String clientId, String secretFile) {
    if (issuer == null || issuer.isBlank()) {
      throw new IllegalArgumentException("--oidc-issuer is missing: give the provider's issuer URL, e.g. https://accounts.example.com");
    }
    String iss = issuer.trim();
    URI uri;
    try {
      uri = new URI(iss);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("bad --oidc-issuer '" + iss + "': " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
      throw new IllegalArgumentException("bad --oidc-issuer '" + iss + "': expected an https:// URL");
    }
    if (uri.getQuery() != null || uri.getFragment() != null) {
      throw new IllegalArgumentException("bad --oidc-issuer '" + iss + "': an issuer has no query or fragment");
    }
    String wellKnown = "/.well-known/openid-configuration";
    if (iss.endsWith(wellKnown)) {
      iss = iss.substring(0, iss.length() - wellKnown.length());
    }
    while (iss.endsWith("/")) {
      iss = iss.substring(0, iss.length() - 1);
    }
    if (clientId == null || clientId.isBlank()) {
      throw new IllegalArgumentException("--oidc-client-id is missing: give the client id registered at the provider");
    }
    if (secretFile != null && secretFile.isBlank()) {
      secretFile = null;
    }
    return new OidcOptions(iss, clientId.trim(), secretFile, DEFAULT_SCOPES, DEFAULT_SESSION_TTL);
  }

  public OidcOptions withSessionTtl(Duration ttl) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("bad --oidc-session: must be positive");
    }
    return new OidcOptions(issuer, clientId, secretFile, scopes, ttl);
  }

  public OidcOptions withScopes(List<String> extra) {
    List<String> all = new ArrayList<>(List.of("openid"));
    for (String s : extra) {
      if (!all.contains(s)) {
        all.add(s);
      }
    }
    return new OidcOptions(issuer, clientId, secretFile, all, sessionTtl);
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("issuer", issuer).put("clientId", clientId)
        .put("scopes", new JsonArray(scopes)).put("sessionTtlSeconds", sessionTtl.toSeconds());
    if (secretFile != null) {
      json.put("secretFile", secretFile);
    }
    return json;
  }

  public static OidcOptions fromJson(JsonObject json) {
    OidcOptions o = of(json.getString("issuer"), json.getString("clientId"), json.getString("secretFile"));
    if (json.containsKey("sessionTtlSeconds")) {
      o = o.withSessionTtl(Duration.ofSeconds(json.getLong("sessionTtlSeconds")));
    }
    JsonArray scopes = json.getJsonArray("scopes");
    if (scopes != null) {
      List<String> list = new ArrayList<>();
      scopes.forEach(s -> list.add(String.valueOf(s)));
      o = o.withScopes(list);
    }
    return o;
  }
}
