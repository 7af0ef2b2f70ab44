package dev.funnel.launcher;

import dev.funnel.common.options.OidcOptions;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The rules an OpenID Connect provider's three flags ({@code --PREFIXissuer}, {@code --PREFIXclient-id},
 * {@code --PREFIXsecret-file}) follow wherever they are spelled: the node's {@code --oidc-*}
 * ({@link LoginFlags}) and the console's {@code --console-oidc-*} ({@link ConsoleLoginFlags}). Usage errors
 * are IllegalArgumentExceptions naming the flags with the caller's prefix.
 */
final class OidcProviderFlags {

  /** How the node's flags (and {@link OidcOptions}' own messages) spell the provider: {@code --oidc-*}. */
  static final String NODE_PREFIX = "oidc-";

  /** The secret file's --help text, the same for every spelling. */
  static final String SECRET_FILE_HELP = "File holding the client secret (first line); leave out for a public client.";

  private OidcProviderFlags() {
  }

  /** Whether any of the three flags is given (so a provider is meant). */
  static boolean given(String issuer, String clientId, String secretFile) {
    return issuer != null || clientId != null || secretFile != null;
  }

  /**
   * Checks a provider that is {@link #given}: the client id and secret file need the issuer, and the secret
   * file must be readable. {@code prefix} is what the flags' names start with after {@code --}
   * ({@code "oidc-"}, {@code "console-oidc-"}).
   */
  static void check(String prefix, String issuer, String secretFile) {
    if (issuer == null) {
      throw new IllegalArgumentException("--" + prefix + "client-id and --" + prefix + "secret-file need --"
          + prefix + "issuer URL (the provider's issuer)");
    }
    if (secretFile != null && !Files.isReadable(Path.of(secretFile))) {
      throw new IllegalArgumentException("--" + prefix + "secret-file " + secretFile
          + ": cannot read it; give a file holding the client secret");
    }
  }

  /** {@link OidcOptions#of}, its usage errors naming the flags with {@code prefix} instead of {@code oidc-}. */
  static OidcOptions options(String prefix, String issuer, String clientId, String secretFile) {
    try {
      return OidcOptions.of(issuer, clientId, secretFile);
    } catch (IllegalArgumentException e) {
      if (NODE_PREFIX.equals(prefix)) {
        throw e;
      }
      throw new IllegalArgumentException(e.getMessage().replace("--" + NODE_PREFIX, "--" + prefix));
    }
  }
}
