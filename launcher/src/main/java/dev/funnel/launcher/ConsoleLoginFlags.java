package dev.funnel.launcher;

import dev.funnel.common.options.AuthOptions;
import dev.funnel.common.options.OidcOptions;
import dev.funnel.common.options.RegistryOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The admin console's optional OpenID Connect sign-in (a picocli mixin of {@code funnel server} and
 * {@code funnel registry}): the provider and who may sign in. Spelled like the node's {@code --oidc-*}
 * and {@code --allow-email} flags, with {@code console-} in front. The admin token always works too.
 */
final class ConsoleLoginFlags {

  static final String PREFIX = "console-" + OidcProviderFlags.NODE_PREFIX;
  static final String ISSUER = PREFIX + "issuer";
  static final String CLIENT_ID = PREFIX + "client-id";
  static final String SECRET_FILE = PREFIX + "secret-file";
  static final String ALLOW_EMAIL = "console-allow-email";

  @Option(names = "--" + ISSUER, paramLabel = "URL",
      description = "Also let admins sign in to the console (/ui/) through this OpenID Connect provider: its issuer URL.")
  String issuer;

  @Option(names = "--" + CLIENT_ID, paramLabel = "ID",
      description = "Client id registered at the provider (redirect URI: the admin URL + /ui/oidc/callback).")
  String clientId;

  @Option(names = "--" + SECRET_FILE, paramLabel = "FILE",
      description = OidcProviderFlags.SECRET_FILE_HELP)
  Path secretFile;

  @Option(names = "--" + ALLOW_EMAIL, paramLabel = "ADDR[,ADDR…]",
      description = "Who may sign in to the console through the provider (exact address; * anyone it signs in); repeatable.")
  List<String> allowEmail;

  /** Applies these flags' values to {@code options}; IllegalArgumentException (a usage error) naming the flag. */
  RegistryOptions applyTo(RegistryOptions options) {
    return apply(options, issuer, clientId, secretFile == null ? null : secretFile.toString(), allowEmail);
  }

  /** As {@link #applyTo}, from a clustered service's settings (file, environment, flags). */
  static RegistryOptions applyTo(RegistryOptions options, ServiceConfig config) {
    return apply(options, config.string(ISSUER, null), config.string(CLIENT_ID, null),
        config.string(SECRET_FILE, null), config.list(ALLOW_EMAIL, null));
  }

  static RegistryOptions apply(RegistryOptions options, String issuer, String clientId, String secretFile,
                               List<String> allowEmail) {
    List<String> emails = new ArrayList<>();
    if (allowEmail != null) {
      allowEmail.forEach(v -> AuthOptions.csv(v).forEach(e -> emails.add(e.toLowerCase(Locale.ROOT))));
    }
    if (!OidcProviderFlags.given(issuer, clientId, secretFile)) {
      if (!emails.isEmpty()) {
        throw new IllegalArgumentException("--" + ALLOW_EMAIL + " needs --" + ISSUER + " URL --" + CLIENT_ID
            + " ID (the console's OpenID Connect provider)");
      }
      return options;
    }
    OidcProviderFlags.check(PREFIX, issuer, secretFile);
    if (emails.isEmpty()) {
      throw new IllegalArgumentException("--" + ISSUER + " needs --" + ALLOW_EMAIL
          + " ADDR (who may sign in to the console; * lets in anyone the provider signs in)");
    }
    OidcOptions oidc = OidcProviderFlags.options(PREFIX, issuer, clientId, secretFile);
    return options.setConsoleOidc(oidc).setConsoleAllowEmails(emails);
  }
}
