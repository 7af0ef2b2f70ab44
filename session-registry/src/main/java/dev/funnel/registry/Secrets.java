package dev.funnel.registry;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/** Random identifiers and secrets, and the one-way hash under which auth keys are stored. */
public final class Secrets {

  /** Every auth key starts with this, so a leaked one is easy to recognise and grep for. */
  public static final String AUTH_KEY_PREFIX = "fnl-auth-";

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

  private Secrets() {
  }

  /** {@code fnl-auth-} and 32 URL-safe base64 characters (192 random bits). */
  public static String newAuthKey() {
    return AUTH_KEY_PREFIX + urlSafe(24);
  }

  /** An auth key id: {@code k} and 12 random characters from {@code [a-z0-9]}. */
  public static String newKeyId() {
    return "k" + randomId(12);
  }

  /** A node id: {@code n} and 12 random characters from {@code [a-z0-9]}. */
  public static String newNodeId() {
    return "n" + randomId(12);
  }

  /** A bearer token for the admin API (256 random bits, URL-safe). */
  public static String newToken() {
    return urlSafe(32);
  }

  /** Lower-case hex SHA-256 of the key's UTF-8 bytes: what the store keeps instead of the key. */
  public static String hash(String key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }

  /** Compares two secrets in time that does not depend on where they differ. */
  public static boolean constantTimeEquals(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static String urlSafe(int bytes) {
    byte[] raw = new byte[bytes];
    RANDOM.nextBytes(raw);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
  }

  private static String randomId(int length) {
    char[] out = new char[length];
    for (int i = 0; i < length; i++) {
      out[i] = ID_ALPHABET[RANDOM.nextInt(ID_ALPHABET.length)];
    }
    return new String(out);
  }
}
