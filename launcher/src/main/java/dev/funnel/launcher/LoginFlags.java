package dev.funnel.launcher;

import dev.funnel.common.options.AuthOptions;
import dev.funnel.common.options.OidcOptions;
import dev.funnel.terminator.auth.LoginSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The node-wide login settings (a picocli mixin of {@code funnel node}): the OpenID Connect provider every
 * {@code --auth PORT[:/PATH]=oidc} route signs in with, the allow lists and the paths that skip the login.
 * Which routes have a login is {@code --auth}'s business; these only say how. List values may be repeated
 * flags or comma-separated.
 */
final class LoginFlags {

  static final String PREFIX = OidcProviderFlags.NODE_PREFIX;
  static final String ISSUER = PREFIX + "issuer";
  static final String CLIENT_ID = PREFIX + "client-id";
  static final String SECRET_FILE = PREFIX + "secret-file";
  static final String SESSION = "oidc-session";
  static final String ALLOW_EMAIL = "allow-email";
  static final String ALLOW_DOMAIN = "allow-domain";
  static final String ALLOW_GROUP = "allow-group";
  static final String AUTH_SKIP = "auth-skip";

  /** The settings keys a config file may use. */
  static final Set<String> KEYS = Set.of(ISSUER, CLIENT_ID, SECRET_FILE, SESSION, ALLOW_EMAIL, ALLOW_DOMAIN,
      ALLOW_GROUP, AUTH_SKIP);

  @Option(names = "--" + ISSUER, paramLabel = "URL",
      description = "OpenID Connect provider for --auth …=oidc routes: its issuer URL (the node reads"
          + " URL/.well-known/openid-configuration, and retries while the provider is not up).")
  String issuer;

  @Option(names = "--" + CLIENT_ID, paramLabel = "ID",
      description = "Client id registered at the provider; its redirect URI is https://NAME/.funnel/oidc/callback.")
  String clientId;

  @Option(names = "--" + SECRET_FILE, paramLabel = "FILE",
      description = OidcProviderFlags.SECRET_FILE_HELP)
  Path secretFile;

  @Option(names = "--" + SESSION, paramLabel = "DURATION",
      description = "How long a login lasts before the provider is asked again: 30m, 12h, 7d (default: 12h).")
  String session;

  @Option(names = "--" + ALLOW_EMAIL, paramLabel = "ADDR[,ADDR…]",
      description = "Let these signed-in users in (exact address; * lets in anyone the provider signs in); repeatable.")
  List<String> allowEmail;

  @Option(names = "--" + ALLOW_DOMAIN, paramLabel = "DOMAIN[,DOMAIN…]",
      description = "Let signed-in users whose address is @DOMAIN in; repeatable.")
  List<String> allowDomain;

  @Option(names = "--" + ALLOW_GROUP, paramLabel = "GROUP[,GROUP…]",
      description = "Let signed-in users with GROUP in their ID token's groups claim in; repeatable.")
  List<String> allowGroup;

  @Option(names = "--" + AUTH_SKIP, paramLabel = "PATH[,PATH…]",
      description = "Paths under these prefixes skip the login (machine callers, e.g. /webhooks/); repeatable.")
  List<String> authSkip;

  /**
   * The settings, checked: an allow list or {@code --oidc-session} without a provider, a provider missing its
   * client id, an unreadable secret file are usage errors (IllegalArgumentException naming the flag).
   * Whether a route asks for oidc without a provider is checked when its gate is built.
   */
  LoginSettings settings(Path stateDir) {
    OidcOptions oidc = null;
    String secret = secretFile == null ? null : secretFile.toString();
    if (OidcProviderFlags.given(issuer, clientId, secret)) {
      OidcProviderFlags.check(PREFIX, issuer, secret);
      oidc = OidcProviderFlags.options(PREFIX, issuer, clientId, secret);
      if (session != null) {
        oidc = oidc.withSessionTtl(duration(session));
      }
    } else if (session != null) {
      throw new IllegalArgumentException("--" + SESSION + " needs --" + ISSUER + " (it is how long an OpenID Connect login lasts)");
    }
    AuthOptions nodeWide = AuthOptions.none()
        .withAllowEmails(split(allowEmail))
        .withAllowDomains(split(allowDomain))
        .withAllowGroups(split(allowGroup))
        .withSkipPaths(split(authSkip));
    if (oidc == null && !(nodeWide.allowEmails().isEmpty() && nodeWide.allowDomains().isEmpty()
        && nodeWide.allowGroups().isEmpty())) {
      throw new IllegalArgumentException("--allow-email, --allow-domain and --allow-group are for --auth …=oidc:"
          + " give the provider with --" + ISSUER + " URL --" + CLIENT_ID + " ID");
    }
    return new LoginSettings(oidc, nodeWide, stateDir);
  }

  /** {@code 90s}, {@code 30m}, {@code 12h}, {@code 7d}, or an ISO-8601 duration. */
  static Duration duration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.matches("\\d+[smhd]")) {
        long n = Long.parseLong(t.substring(0, t.length() - 1));
        return switch (t.charAt(t.length() - 1)) {
          case 's' -> Duration.ofSeconds(n);
          case 'm' -> Duration.ofMinutes(n);
          case 'h' -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
      }
      return Duration.parse(t.toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException | ArithmeticException e) {
      throw new IllegalArgumentException("bad --" + SESSION + " '" + text + "': write e.g. 30m, 12h or 7d");
    }
  }

  private static List<String> split(List<String> values) {
    List<String> out = new ArrayList<>();
    if (values != null) {
      values.forEach(v -> out.addAll(AuthOptions.csv(v)));
    }
    return out;
  }
}
