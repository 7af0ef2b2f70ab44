package dev.funnel.common.auth;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;

/**
 * The checks of an OpenID Connect sign-in that vertx-auth-oauth2 does not make, shared by the node's
 * login gate and the registry's console (pure, no I/O): vertx-auth-oauth2's {@code authenticate}
 * verifies an ID token's signature, issuer and audience and silently drops one that fails, but
 * requires no audience, and checks neither the nonce nor the expiry. Also the PKCE (S256) challenge
 * and the random values of a sign-in (state, verifier, nonce).
 */
public final class IdTokens {

  /** Clock skew allowed on the ID token's {@code exp}. */
  public static final long LEEWAY_SECONDS = 60;

  private static final SecureRandom RANDOM = new SecureRandom();

  private IdTokens() {
  }

  /**
   * Why a verified ID token is still refused, or {@code null}: missing (it failed verification), not
   * for {@code clientId}, without this sign-in's {@code nonce}, or expired at {@code now}.
   */
  public static String problem(JsonObject idToken, String nonce, String clientId, Instant now) {
    if (idToken == null) {
      return "is missing or failed verification (signature, issuer or audience)";
    }
    Object aud = idToken.getValue("aud");
    boolean forUs = aud instanceof String s ? s.equals(clientId)
        : aud instanceof JsonArray a && a.contains(clientId);
    if (!forUs) {
      return "is not for client " + clientId;
    }
    if (nonce == null || !nonce.equals(idToken.getValue("nonce"))) {
      return "does not carry this sign-in's nonce";
    }
    Object exp = idToken.getValue("exp");
    if (!(exp instanceof Number n) || n.longValue() + LEEWAY_SECONDS < now.getEpochSecond()) {
      return "has expired";
    }
    return null;
  }

  /** The PKCE S256 challenge of {@code verifier}. */
  public static String challenge(String verifier) {
    try {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** 32 random bytes, base64url: a state, PKCE verifier or nonce. */
  public static String randomToken() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
