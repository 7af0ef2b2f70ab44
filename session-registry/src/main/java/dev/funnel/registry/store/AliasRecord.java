package dev.funnel.registry.store;

import java.time.Instant;

/**
 * A custom domain as stored: the alias (normalised, unique across the registry), the node it belongs
 * to ({@code nodeId}, in {@code tailnet}), its token (random, stable for the alias), its state
 * ({@code pending}, {@code verified}, {@code failed}) with the reason of the last check, when that
 * check ran (null: never), who asked for it ({@code node} or {@code admin}) and when.
 */
public record AliasRecord(String alias, String tailnet, String nodeId, String token, String state, String reason,
                          Instant checkedAt, String origin, Instant createdAt) {

  public static final String PENDING = "pending";
  public static final String VERIFIED = "verified";
  public static final String FAILED = "failed";
  public static final String ORIGIN_NODE = "node";
  public static final String ORIGIN_ADMIN = "admin";

  public AliasRecord withCheck(String newState, String newReason, Instant at) {
    return new AliasRecord(alias, tailnet, nodeId, token, newState, newReason, at, origin, createdAt);
  }
}
