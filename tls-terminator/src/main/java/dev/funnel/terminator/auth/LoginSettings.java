package dev.funnel.terminator.auth;

import dev.funnel.common.options.AuthOptions;
import dev.funnel.common.options.OidcOptions;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The node-wide half of every route's login gate (the route's {@code --auth} is the other half): the
 * OpenID Connect provider ({@code --oidc-*}; {@code null}: none, so an {@code oidc} route is refused), the
 * allow lists and skip paths ({@code --allow-email}, {@code --allow-domain}, {@code --allow-group},
 * {@code --auth-skip}, held in an {@link AuthOptions} with no method), and the state directory that keeps
 * the cookie key.
 */
public record LoginSettings(OidcOptions oidc, AuthOptions nodeWide, Path stateDir) {

  public LoginSettings {
    Objects.requireNonNull(nodeWide);
    Objects.requireNonNull(stateDir);
  }

  /** No provider, no allow lists: basic and bearer routes work, oidc routes are refused with the flags to add. */
  public static LoginSettings none(Path stateDir) {
    return new LoginSettings(null, AuthOptions.none(), stateDir);
  }
}
