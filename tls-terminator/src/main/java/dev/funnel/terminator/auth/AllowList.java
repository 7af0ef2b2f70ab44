package dev.funnel.terminator.auth;

import dev.funnel.common.options.AuthOptions;
import java.util.Optional;

/**
 * Does a signed-in OpenID Connect user pass a route's allow lists? A pure function, checked on every
 * request (the allow list of each route, not the one in force at login, decides).
 */
final class AllowList {

  private AllowList() {
  }

  /**
   * The entry that lets {@code user} in ({@code any} for {@code *}, {@code email}, {@code domain}, {@code group}), or empty.
   * An email the provider marked unverified matches neither an address nor a domain.
   */
  static Optional<String> match(AuthOptions options, LoginUser user) {
    if (options.allowEmails().contains("*")) {
      return Optional.of("any");
    }
    String email = user.emailVerified() ? user.email() : null;
    if (email != null) {
      if (options.allowEmails().contains(email)) {
        return Optional.of("email");
      }
      int at = email.lastIndexOf('@');
      if (at > 0 && options.allowDomains().contains(email.substring(at + 1))) {
        return Optional.of("domain");
      }
    }
    for (String group : user.groups()) {
      if (options.allowGroups().contains(group)) {
        return Optional.of("group");
      }
    }
    return Optional.empty();
  }
}
