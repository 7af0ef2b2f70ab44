package dev.funnel.registry.store;

import java.time.Instant;

/**
 * What the registry keeps about an auth key: never the key itself, only (in the store) its
 * SHA-256. {@code expiresAt}, {@code usedAt} and {@code revokedAt} are null when not set.
 */
public record AuthKeyInfo(String id, String tailnet, boolean reusable, Instant expiresAt, Instant usedAt,
                          Instant revokedAt, Instant createdAt) {

  public boolean revoked() {
    return revokedAt != null;
  }

  /** Why this key cannot enrol a new node at {@code now}; null when it can. */
  public String refusal(Instant now) {
    if (revokedAt != null) {
      return "auth key " + id + " was revoked";
    }
    if (expiresAt != null && !now.isBefore(expiresAt)) {
      return "auth key " + id + " expired at " + expiresAt;
    }
    if (!reusable && usedAt != null) {
      return "one-off auth key " + id + " was already used at " + usedAt;
    }
    return null;
  }
}
