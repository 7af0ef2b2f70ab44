package dev.funnel.terminator.auth;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals and opens the login gate's cookie values: AES-256-GCM (an AEAD: a value that was changed, cut,
 * made with another key, or moved to another purpose or host fails to open), so the browser holds the
 * login and the node keeps nothing but the key. No Vert.x, no I/O, no logging.
 *
 * <p>Value: {@code base64url(nonce[12] || ciphertext || tag[16])}, the plaintext a JSON object with an
 * {@code exp} (epoch seconds). The associated data binds it to a purpose ({@code session}, {@code flow})
 * and to the node name the request was for, so a cookie made for one name or purpose is refused for another.
 */
public final class SealedCookie {

  /** Values longer than this are refused unopened (browsers keep about 4 KiB per cookie anyway). */
  public static final int MAX_VALUE_CHARS = 4096;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final String VERSION = "funnel-login-v1";

  private final SecretKeySpec key;
  private final SecureRandom random = new SecureRandom();

  /** @param key 32 bytes (see {@link LoginKey}) */
  public SealedCookie(byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("the login cookie key must be 32 bytes, not " + key.length);
    }
    this.key = new SecretKeySpec(key.clone(), "AES");
  }

  /** Seals {@code claims} (copied) with {@code exp} set to {@code expires}. */
  public String seal(JsonObject claims, String purpose, String host, Instant expires) {
    byte[] plain = claims.copy().put("exp", expires.getEpochSecond()).encode().getBytes(StandardCharsets.UTF_8);
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(aad(purpose, host));
      byte[] sealed = cipher.doFinal(plain);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          ByteBuffer.allocate(nonce.length + sealed.length).put(nonce).put(sealed).array());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this JVM", e);
    }
  }

  /**
   * Opens a value sealed by {@link #seal} for the same purpose and host. Empty for anything else:
   * not base64url, too short or too long, tampered, another key, purpose or host, not JSON, no
   * {@code exp}, or expired at {@code now}.
   */
  public Optional<JsonObject> open(String value, String purpose, String host, Instant now) {
    if (value == null || value.isEmpty() || value.length() > MAX_VALUE_CHARS) {
      return Optional.empty();
    }
    byte[] raw;
    try {
      raw = Base64.getUrlDecoder().decode(value);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    if (raw.length < NONCE_BYTES + TAG_BITS / 8) {
      return Optional.empty();
    }
    byte[] plain;
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, raw, 0, NONCE_BYTES));
      cipher.updateAAD(aad(purpose, host));
      plain = cipher.doFinal(raw, NONCE_BYTES, raw.length - NONCE_BYTES);
    } catch (GeneralSecurityException e) {
      return Optional.empty();
    }
    JsonObject claims;
    try {
      claims = new JsonObject(new String(plain, StandardCharsets.UTF_8));
    } catch (DecodeException | ClassCastException e) {
      return Optional.empty();
    }
    Object exp = claims.getValue("exp");
    if (!(exp instanceof Number n) || n.longValue() <= now.getEpochSecond()) {
      return Optional.empty();
    }
    return Optional.of(claims);
  }

  private static byte[] aad(String purpose, String host) {
    return (VERSION + "\0" + purpose + "\0" + host).getBytes(StandardCharsets.UTF_8);
  }
}
