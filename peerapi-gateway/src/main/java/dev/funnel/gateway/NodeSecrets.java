package dev.funnel.gateway;

import java.security.SecureRandom;
import java.util.Base64;

/** Session ids and link secrets: 128 random bits, URL-safe. */
final class NodeSecrets {

  private static final SecureRandom RANDOM = new SecureRandom();

  private NodeSecrets() {
  }

  static String newSecret() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
