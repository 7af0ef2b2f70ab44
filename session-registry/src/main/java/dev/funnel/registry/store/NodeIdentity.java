package dev.funnel.registry.store;

import java.time.Instant;

/**
 * A node's durable identity: the name {@code name.tailnet} it owns, the public half of the node key
 * it proves on every login (base64 X.509 SubjectPublicKeyInfo), and the auth key it enrolled with.
 */
public record NodeIdentity(String id, String name, String tailnet, String publicKey, String keyId,
                           Instant createdAt) {

  /** {@code name.tailnet}: unique among all nodes. */
  public String shortName() {
    return name + "." + tailnet;
  }

  public String fqdn(String domain) {
    return name + "." + tailnet + "." + domain;
  }
}
