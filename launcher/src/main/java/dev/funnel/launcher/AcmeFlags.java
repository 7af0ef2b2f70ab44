package dev.funnel.launcher;

import dev.funnel.node.acme.AcmeSettings;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code funnel node}'s ACME flags: the node gets its certificate from an ACME CA itself. */
final class AcmeFlags {

  @Option(names = "--acme",
      description = "Get this node's certificate from an ACME CA (Let's Encrypt unless --acme-directory): the key is"
          + " made here and never leaves the node; tls-alpn-01 through the funnel (needs 443 funnelled), else"
          + " dns-01 through the session. Renewed by the CA's renewal info, else at 2/3 of its lifetime.")
  boolean acme;

  @Option(names = "--acme-directory", paramLabel = "URL",
      description = "The ACME CA's directory URL (default: Let's Encrypt, " + "https://acme-v02.api.letsencrypt.org/directory).")
  URI directory;

  @Option(names = "--acme-ca", paramLabel = "FILE",
      description = "PEM CA bundle the ACME server's HTTPS certificate is checked against (a private CA, e.g. Pebble's;"
          + " default: the JDK's trust store).")
  Path ca;

  @Option(names = "--acme-email", paramLabel = "ADDR", description = "Contact e-mail for the ACME account.")
  String email;

  @Option(names = "--acme-eab-kid", paramLabel = "ID", description = "External Account Binding key id, if the CA wants one.")
  String eabKid;

  @Option(names = "--acme-eab-hmac-key", paramLabel = "KEY", description = "External Account Binding MAC key (base64url).")
  String eabHmacKey;

  @Option(names = "--acme-challenge", paramLabel = "TYPE[,TYPE]",
      description = "Challenge types to try, in order: tls-alpn-01, dns-01 (default: tls-alpn-01,dns-01).")
  String challenges;

  /** The settings, or null without {@code --acme}; a usage error names the flag. */
  AcmeSettings settings(Path state) {
    if (!acme) {
      String stray = directory != null ? "--acme-directory" : ca != null ? "--acme-ca" : email != null ? "--acme-email"
          : eabKid != null ? "--acme-eab-kid" : eabHmacKey != null ? "--acme-eab-hmac-key"
          : challenges != null ? "--acme-challenge" : null;
      if (stray != null) {
        throw new IllegalArgumentException(stray + " needs --acme");
      }
      return null;
    }
    URI dir = directory != null ? directory : AcmeSettings.LETS_ENCRYPT;
    if (!"https".equals(dir.getScheme()) || dir.getHost() == null) {
      throw new IllegalArgumentException("--acme-directory " + dir + " is not an https:// URL (e.g. "
          + AcmeSettings.LETS_ENCRYPT + ")");
    }
    List<String> types = challenges == null ? AcmeSettings.DEFAULT_CHALLENGES
        : Arrays.stream(challenges.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    return new AcmeSettings(dir, ca, email, eabKid, eabHmacKey, types, state, AcmeSettings.DEFAULT_TIMEOUT);
  }
}
