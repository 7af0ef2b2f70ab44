package dev.funnel.registry;

import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.ControlStore;
import io.vertx.core.Future;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The admin's auth keys: made (the key itself returned once, only its hash stored), listed and
 * revoked (nodes enrolled with a revoked key are kicked).
 */
final class AuthKeys {

  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  private final RegistryState state;
  private final Withdrawals withdrawals;

  AuthKeys(RegistryState state, Withdrawals withdrawals) {
    this.state = state;
    this.withdrawals = withdrawals;
  }

  /** Why an expiry (null: none) is refused, or null: between 1 second and {@link RegistryService#MAX_KEY_EXPIRY_SECONDS}. */
  static String badExpiry(Duration expiry) {
    return expiry != null && (expiry.isNegative() || expiry.isZero()
        || expiry.getSeconds() > RegistryService.MAX_KEY_EXPIRY_SECONDS)
        ? "expiry must be between 1 second and 10 years" : null;
  }

  /** See {@link RegistryService#createKey}. */
  Future<RegistryService.NewKey> create(String tailnet, boolean reusable, Duration expiry) {
    String bad = badExpiry(expiry);
    if (bad != null) {
      return Future.failedFuture(AdminException.badRequest(bad));
    }
    return state.blocking(() -> {
      synchronized (state.writeLock) {
        if (state.store.tailnet(tailnet).isEmpty()) {
          throw AdminException.notFound("no tailnet " + tailnet);
        }
        Instant now = RegistryState.now();
        String key = Secrets.newAuthKey();
        AuthKeyInfo info = new AuthKeyInfo(Secrets.newKeyId(), tailnet, reusable,
            expiry == null ? null : now.plus(expiry), null, null, now);
        state.store.insertKey(info, Secrets.hash(key));
        LOG.log(Level.INFO, "auth key {0} added for tailnet {1} ({2}{3})", info.id(), tailnet,
            reusable ? "reusable" : "one-off", info.expiresAt() == null ? "" : ", expires " + info.expiresAt());
        return new RegistryService.NewKey(info, key);
      }
    });
  }

  Future<List<AuthKeyInfo>> list() {
    return state.blocking(state.store::keys);
  }

  /** See {@link RegistryService#revokeKey}. */
  Future<AuthKeyInfo> revoke(String id) {
    return state.blocking(() -> {
      synchronized (state.writeLock) {
        ControlStore.Revocation revocation = state.store.revokeKey(id, RegistryState.now())
            .orElseThrow(() -> AdminException.notFound("no auth key " + id));
        LOG.log(Level.INFO, "auth key {0} revoked; kicking {1} nodes", id, revocation.nodes().size());
        revocation.nodes().forEach(n -> withdrawals.kick(n, "auth key " + id + " was revoked"));
        return revocation.key();
      }
    });
  }
}
